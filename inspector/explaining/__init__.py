"""Explain a replay miss: the text a failed test printed (or a test id, a request body), read
(`misses`, pure), turned into what to look up (`questions`, pure), and answered from the
database: where a file of that name is, the nearest recordings and how they differ
(`candidates`, `answers`)."""
