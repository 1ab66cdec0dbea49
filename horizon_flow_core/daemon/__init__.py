"""The long-running ``flow run`` daemon: live sources, engines, feed logs, metrics, health."""
