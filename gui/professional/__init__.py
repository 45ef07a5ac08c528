"""The professional GUI (DSO grid operators, aggregators): a map of radials and sites drawn from the
server's GeoJSON, coloured live by voltage and state; GESSCon status and the commands of D3.1 tables 5
and 9; per-ESS schedule against actual; what-if jobs and their results; CSV export of each view.
`blueprint` is mounted at /pro by gui.app."""
from gui.professional.views import blueprint

__all__ = ["blueprint"]
