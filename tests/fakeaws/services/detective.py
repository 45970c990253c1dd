"""detective: the behaviour graphs of the account (an S3 runbook only asks
whether Detective is enabled, and where)."""
from .. import state as st

SERVICE = "detective"


def list_graphs(ctx, p):
    graphs = [dict(g) for g in ctx.state.get("graphs", [])]
    graphs, nxt = st.page(graphs, p)
    return {"GraphList": graphs, "NextToken": nxt}


OPERATIONS = {"ListGraphs": list_graphs}
