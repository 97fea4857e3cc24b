"""Event delivery: the push relay, the pull queue, wake-ups and retention."""
