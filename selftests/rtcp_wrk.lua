-- SPDX-License-Identifier: GPL-2.0
--
-- wrk's summary on one line that a script can read (wrk's own output
-- rounds its figures): requests, bytes read, the run's length, the rate,
-- and each kind of error (status: responses of 400 and above).
done = function(summary, latency, requests)
	local e = summary.errors
	local secs = summary.duration / 1e6
	io.write(string.format("wrk-summary requests=%d bytes=%d seconds=%.3f rps=%.1f " ..
		"connect=%d read=%d write=%d status=%d timeout=%d\n",
		summary.requests, summary.bytes, secs, summary.requests / secs,
		e.connect, e.read, e.write, e.status, e.timeout))
end
