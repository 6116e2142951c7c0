"""The pure spatial core of Wangge: arrays, frames and road networks in, the same out; it imports nothing
of the project's other packages (persistence is ``store``'s)."""
