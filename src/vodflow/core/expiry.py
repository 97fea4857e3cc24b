"""The library sweeper: deletes expired media and forgets expired upload sessions."""

from __future__ import annotations

from vodflow.core.library import LibraryService
from vodflow.core.uploads import UploadService
from vodflow.periodic import Periodic


class LibrarySweeper(Periodic):
    def __init__(
        self, library: LibraryService, uploads: UploadService, interval_s: float = 60.0
    ) -> None:
        super().__init__("library sweep", interval_s, self.sweep_once)
        self.library = library
        self.uploads = uploads

    async def sweep_once(self) -> None:
        await self.library.sweep_expired()
        await self.uploads.sweep()
