"""Runtime confirmation: a pytest plugin that measures event-loop stalls while the application's
tests run, and the link from those stalls back to the static findings.

plugin.py is the pytest entry point and imports nothing else until `--apl-monitor` is given:
monitor.py (instrumented loops and the watchdog thread), stacks.py (samples to frames),
stall_report.py (the JSON report), matching.py (stall to finding), static_findings.py (where
findings come from), session.py (the monitored session), summary.py (the terminal summary) and
confirmation.py (`check --runtime-report`).
"""
