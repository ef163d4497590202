"""Checks that the Cerbos policy decides as aipdp does.

Sends the same tenant and feature to a running aipdp (`POST /v1/route`) and
a running Cerbos with benches/cerbos/policies (`POST /api/check/resources`)
for every combination of region, data cluster, residency, selected mode,
provider lists, add-ons and feature below, and compares allow, mode and the
route's provider and model. Prints the number of cases and exits non-zero on
the first disagreement.

    python3 benches/cerbos/agree.py AIPDP_PORT CERBOS_PORT
"""

import itertools
import json
import sys
import urllib.request

aipdp_port, cerbos_port = sys.argv[1], sys.argv[2]

REGIONS = ["US", "EU", "SG"]
CLUSTERS = [None, "global", "local"]
RESIDENCY = [None, "none", "strict", "trust_boundary"]
SELECTED = [None, "zmo", "zm_plus", "federated"]
LISTS = [
    {},
    {"denied_providers": ["anthropic"]},
    {"denied_providers": ["zoom"]},
    {"denied_providers": ["zoom", "anthropic"]},
    {"allowed_providers": ["zoom", "openai", "elevenlabs"]},
]
ADD_ONS = [None, ["custom_ai_companion"]]
FEATURES = [
    "meeting_summary",
    "whiteboard_content_generation",
    "web_search_answers",
    "contact_center_virtual_agent",
    "custom_ai_companion",
]


def post(port, path, body):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


cases = 0
tally = {}
for region, cluster, residency, selected, lists, add_ons, feature in itertools.product(
    REGIONS, CLUSTERS, RESIDENCY, SELECTED, LISTS, ADD_ONS, FEATURES
):
    tenant = {"region": region, **lists}
    for key, value in [("data_cluster", cluster), ("residency", residency),
                       ("selected_mode", selected), ("add_ons", add_ons)]:
        if value is not None:
            tenant[key] = value
    a = post(aipdp_port, "/v1/route", {"tenant": tenant, "feature": feature})
    c = post(cerbos_port, "/api/check/resources", {
        "principal": {"id": "tenant", "roles": ["tenant"], "attr": tenant},
        "resources": [{"resource": {"kind": "ai_feature", "id": feature}, "actions": ["invoke"]}],
    })["results"][0]
    out = c["outputs"][0]["val"]
    theirs = (c["actions"]["invoke"] == "EFFECT_ALLOW",
              out.get("mode") or None, out.get("provider"), out.get("model"))
    route = a["route"] or {}
    # On a deny for want of a route aipdp still names the decided mode, and
    # so does the policy's output.
    ours = (a["allow"], a["mode"], route.get("provider"), route.get("model"))
    if ours != theirs:
        sys.exit(f"disagree on {json.dumps({'tenant': tenant, 'feature': feature})}:\n"
                 f"  aipdp  {ours}\n  cerbos {theirs}")
    cases += 1
    key = ("allow" if ours[0] else "deny", ours[1] or "no mode")
    tally[key] = tally.get(key, 0) + 1
print(f"{cases} cases: Cerbos and aipdp agree on allow, mode, provider and model")
for (verdict, mode), n in sorted(tally.items()):
    print(f"  {verdict:5} {mode:9} {n}")
