"""Every write of the portfolio: running scans (`scans`), the finding lifecycle (`findings`)
and the owners' digests after a scan (`digests`)."""
