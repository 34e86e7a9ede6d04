"""Reports for people: the HTML board report and the views the web dashboard shares.

:func:`gpuledger.reports.html.render_report` writes one self-contained HTML file
(Plotly inlined, no URL fetched) with the overview, the impact of every
diversion, the forecast and the claims.
"""

from __future__ import annotations

__all__: list[str] = []
