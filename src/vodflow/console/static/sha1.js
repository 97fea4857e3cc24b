// SHA-1 and HMAC-SHA1 over UTF-8 strings, hex out: the COS upload signature
// (q-sign-algorithm=sha1) in pages served over plain HTTP, where crypto.subtle is absent.
"use strict";
(function () {
  function utf8(s) { return new TextEncoder().encode(s); }
  function hex(bytes) {
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  function sha1(msg) {
    var ml = msg.length, withOne = ml + 1, padded = Math.ceil((withOne + 8) / 64) * 64;
    var buf = new Uint8Array(padded);
    buf.set(msg); buf[ml] = 0x80;
    var view = new DataView(buf.buffer);
    view.setUint32(padded - 4, (ml * 8) >>> 0);
    view.setUint32(padded - 8, Math.floor(ml / 0x20000000));
    var h0 = 0x67452301, h1 = 0xefcdab89, h2 = 0x98badcfe, h3 = 0x10325476, h4 = 0xc3d2e1f0;
    var w = new Uint32Array(80);
    for (var off = 0; off < padded; off += 64) {
      for (var i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
      for (i = 16; i < 80; i++) { var x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]; w[i] = (x << 1) | (x >>> 31); }
      var a = h0, b = h1, c = h2, d = h3, e = h4;
      for (i = 0; i < 80; i++) {
        var f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        var t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) >>> 0;
        e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
      }
      h0 = (h0 + a) >>> 0; h1 = (h1 + b) >>> 0; h2 = (h2 + c) >>> 0; h3 = (h3 + d) >>> 0; h4 = (h4 + e) >>> 0;
    }
    var out = new Uint8Array(20), ov = new DataView(out.buffer);
    [h0, h1, h2, h3, h4].forEach(function (h, j) { ov.setUint32(j * 4, h); });
    return out;
  }
  function hmac(key, msg) {
    if (key.length > 64) key = sha1(key);
    var k = new Uint8Array(64); k.set(key);
    var ipad = new Uint8Array(64 + msg.length), opad = new Uint8Array(64 + 20);
    for (var i = 0; i < 64; i++) { ipad[i] = k[i] ^ 0x36; opad[i] = k[i] ^ 0x5c; }
    ipad.set(msg, 64);
    opad.set(sha1(ipad), 64);
    return sha1(opad);
  }
  window.vodSha1 = {
    sha1Hex: function (s) { return hex(sha1(utf8(s))); },
    hmacHex: function (key, s) { return hex(hmac(utf8(key), utf8(s))); },
  };
})();
