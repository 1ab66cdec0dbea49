"""Reading and writing feed logs: normalized events and raw venue recordings."""

from .raw import iter_raw_recording
from .reader import open_feed_text, read_feed_log
from .rejects import RejectLog
from .writer import RawRecorder, write_events

__all__ = ["RawRecorder", "RejectLog", "iter_raw_recording", "open_feed_text", "read_feed_log",
           "write_events"]
