"""The spatial core of Wangge: persistence (db, models, queries) and pure computation modules."""
