"""Imported once by the fork server that starts the workers: solve a tiny instance, so that every
worker is forked from a process whose libraries and caches are already warm (a cold first solve
costs about 0.1 s more than the next ones), then freeze the garbage collector's objects so that a
worker's collections do not touch (and copy) the pages it shares with the fork server."""

from __future__ import annotations

import gc

from fluxopt.explanations import explain
from fluxopt.jsondoc import result_document
from fluxopt.service.worker import solve_built

TINY = {
    "instance": {"nom": "préchauffe", "territoire": "33", "annee": 2025},
    "patrimoine": [{"bailleur": "B", "commune": "33063", "epci": "243300316", "qpv": True, "logements": 100,
                    "liberations": 10},
                   {"bailleur": "B", "commune": "33063", "epci": "243300316", "qpv": False, "logements": 100,
                    "liberations": 10}],
    "reservataires": [{"reservataire": "P", "type": "prefet"}, {"reservataire": "A", "type": "action_logement"}],
    "stock": [{"bailleur": "B", "reservataire": "P", "commune": "33063", "qpv": True, "logements_reserves": 20},
              {"bailleur": "B", "reservataire": "A", "commune": "33063", "qpv": False, "logements_reserves": 20}],
    "cil": [{"epci": "243300316"}],
}


def warm() -> None:
    from fluxopt.builder import build

    result = solve_built(build(TINY), keep_duals=True)
    result_document(result, explain(result))


warm()
gc.collect()
gc.freeze()
