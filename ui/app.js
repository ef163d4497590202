// aipdp explorer: plain JavaScript over the service's own public API.
// No framework and no build step; every request goes to this origin.
"use strict";

const $ = (id) => document.getElementById(id);

// h("td", {class: "x"}, child, ...): an element; strings become text nodes,
// so catalog and answer text is never parsed as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    // data- and aria- attributes keep "true"/"false"; others are boolean.
    const literal = k.startsWith("data-") || k.startsWith("aria-");
    if (v === null || v === undefined || (v === false && !literal)) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true && !literal ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A reason's sentence with its `ids` set as code.
function msg(text) {
  return String(text).split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part));
}

function badge(kind, text) {
  return h("span", { class: `badge ${kind}` }, text);
}

// Short labels for refusal codes; the full sentence is always one hover,
// click or focus away.
const SHORT = {
  mode_not_offered: "not offered here",
  residency_global_processing: "residency: may leave region",
  residency_third_party: "residency: third party",
  no_usable_provider: "no usable provider",
  feature_not_in_mode: "not in this mode",
  feature_not_offered_here: "not offered here",
  providers_excluded: "providers excluded",
  add_on_required: "needs add-on",
  add_on_not_in_mode: "add-on not in mode",
  no_mode: "no mode",
};

let catalog = null;
let generation = 0;

// The API token, when the service has API tokens configured: entered in the
// page (a browser cannot send one when it loads a page) and kept for this
// tab only.
const TOKEN_KEY = "aipdp-api-token";

/** An answer that is not the one asked for; `status` 0 when none came. */
class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function api(path, body) {
  const headers = body === undefined ? { accept: "application/json" } : { "content-type": "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const init = body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(`the service could not be reached (${err.message})`, 0);
  }
  const text = await response.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    // Not JSON: a proxy's error page, say. Named by its status below.
  }
  if (!response.ok) {
    const fields = ((data && data.errors) || []).map((e) => `${e.pointer || "/"}: ${e.message}`).join("; ");
    const detail = fields || (data && data.detail) || `HTTP ${response.status} ${response.statusText}`.trim();
    throw new ApiError(detail, response.status);
  }
  if (data === null) throw new ApiError(`HTTP ${response.status} with a body that is not JSON`, response.status);
  return data;
}

/** Shows the token form after a 401 or 403, and starts again with the token entered. */
function askForToken(err) {
  const form = $("token-form");
  form.hidden = false;
  $("token-problem").textContent = sessionStorage.getItem(TOKEN_KEY)
    ? `The token was refused: ${err.message}`
    : "This service needs an API token (auth.api_tokens).";
  $("token").focus();
}

/** Marks the results as not matching the controls, or as current again. */
function stale(on) {
  $("main").classList.toggle("stale", on);
}

function status(text, error) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", !!error);
  el.setAttribute("role", error ? "alert" : "status");
}

// ---------------------------------------------------------------------------
// Controls
// ---------------------------------------------------------------------------

function option(value, text, selected) {
  return h("option", { value, selected }, text);
}

function checkbox(group, id, text, checked) {
  const inputId = `${group}-${id}`;
  return h("div", { class: "option" },
    h("input", { type: "checkbox", id: inputId, name: group, value: id, checked }),
    h("label", { for: inputId }, text));
}

function buildControls(c) {
  const region = $("region");
  for (const r of c.regions) region.append(option(r.id, `${r.id} · ${r.name}`, r.id === "EU"));
  for (const cl of c.clusters) $("data_cluster").append(option(cl.id, cl.name || cl.id));
  for (const m of c.modes) $("selected_mode").append(option(m.id, `${m.id} · ${m.name}`));
  for (const s of c.sectors) $("sector").append(option(s.id, s.high_exposure ? `${s.id} (high exposure)` : s.id));
  const providers = $("providers");
  for (const p of c.providers) {
    const id = `provider-${p.id}`;
    providers.append(h("div", { class: "provider" },
      h("label", { for: id }, p.name || p.id),
      h("select", { id, name: "provider", "data-provider": p.id, "aria-describedby": "providers-hint" },
        option("", "any"), option("allow", "allow"), option("deny", "deny"))));
  }
  for (const r of c.compliance) $("compliance").append(checkbox("compliance", r.id, r.name ? `${r.name} (${r.id})` : r.id));
  for (const a of c.add_ons) $("add_ons").append(checkbox("add_ons", a.id, a.name || a.id));
  for (const f of c.features) $("features").append(checkbox("features", f.id, f.name || f.id, true));
  $("features-all").addEventListener("click", () => setAll(true));
  $("features-none").addEventListener("click", () => setAll(false));
  $("tenant").addEventListener("change", refresh);
  $("tenant").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
}

function setAll(on) {
  for (const box of document.querySelectorAll("input[name=features]")) box.checked = on;
  refresh();
}

function checked(group) {
  return [...document.querySelectorAll(`input[name=${group}]:checked`)].map((i) => i.value);
}

// The tenant object exactly as POST /v1/decisions takes it.
function tenant() {
  const t = { region: $("region").value, residency: $("residency").value };
  if ($("data_cluster").value) t.data_cluster = $("data_cluster").value;
  if ($("selected_mode").value) t.selected_mode = $("selected_mode").value;
  if ($("sector").value) t.sector = $("sector").value;
  const rules = [...document.querySelectorAll("select[name=provider]")];
  const allowed = rules.filter((s) => s.value === "allow").map((s) => s.dataset.provider);
  const denied = rules.filter((s) => s.value === "deny").map((s) => s.dataset.provider);
  if (allowed.length) t.allowed_providers = allowed;
  if (denied.length) t.denied_providers = denied;
  const compliance = checked("compliance");
  if (compliance.length) t.compliance = compliance;
  const addOns = checked("add_ons");
  if (addOns.length) t.add_ons = addOns;
  t.training_opt_out = $("training_opt_out").checked;
  return t;
}

function eligibilityQuery(t, features) {
  const q = new URLSearchParams({ region: t.region, residency: t.residency });
  if (t.data_cluster) q.append("data_cluster", t.data_cluster);
  for (const f of features) q.append("feature", f);
  for (const p of t.allowed_providers || []) q.append("allowed_provider", p);
  for (const p of t.denied_providers || []) q.append("denied_provider", p);
  for (const c of t.compliance || []) q.append("compliance", c);
  for (const a of t.add_ons || []) q.append("add_on", a);
  return q.toString();
}

// ---------------------------------------------------------------------------
// Refresh: the grid, the decision and the comparison, together
// ---------------------------------------------------------------------------

async function refresh() {
  const mine = ++generation;
  const t = tenant();
  const features = checked("features");
  if (!features.length) {
    stale(true);
    status("Choose at least one feature.", true);
    return;
  }
  status("Deciding…");
  try {
    const [grid, decision, compare] = await Promise.all([
      api(`/v1/eligibility?${eligibilityQuery(t, features)}`),
      api("/v1/decisions", { tenant: t, features, explain: true }),
      api("/v1/decisions/compare", { tenant: t, features }),
    ]);
    if (mine !== generation) return; // a newer choice is on its way
    renderGrid(grid);
    renderDecision(decision);
    renderCompare(compare);
    stale(false);
    status(`${grid.region} on the ${grid.data_cluster} cluster, ${grid.residency} residency: ` +
      `${decision.outcome}${decision.mode ? ` under ${decision.mode}` : ""}.`);
  } catch (err) {
    if (mine !== generation) return;
    stale(true);
    if (err.status === 401 || err.status === 403) askForToken(err);
    const what = err.status === 0 ? "The results below are out of date" : "The service refused the request";
    status(`${what}: ${err.message}`, true);
  }
}

function featureName(id) {
  const f = catalog.features.find((x) => x.id === id);
  return f && f.name ? f.name : id;
}

function reasonText(list) {
  return (list || []).map((r) => r.message).join("; ");
}

function routeText(route) {
  const where = route.platform ? `${route.processing_region}, ${route.platform}` : route.processing_region;
  return `${route.model} · ${where}`;
}

function renderGrid(grid) {
  const table = $("grid");
  table.replaceChildren();
  $("detail").replaceChildren(h("p", { class: "hint" }, "No cell chosen."));
  table.dataset.region = grid.region;
  table.dataset.residency = grid.residency;
  table.dataset.cluster = grid.data_cluster;
  table.append(h("caption", { class: "hint" },
    `${grid.region} · ${grid.data_cluster} cluster · ${grid.residency} residency · default mode ${grid.default_mode}`));
  const head = h("tr", {}, h("th", { scope: "col" }, "Feature"));
  for (const m of grid.modes) {
    const why = reasonText(m.reasons);
    head.append(h("th", {
      scope: "col", class: "mode", "data-mode": m.id, "data-eligible": m.eligible,
      "data-default": m.is_default, title: why,
    },
    h("span", { class: "mode-name" }, m.name, " ", h("span", { class: "mode-id" }, `(${m.id})`)),
    badge(m.eligible ? "ok" : "no", m.eligible ? "eligible" : "not eligible"),
    m.is_default ? badge("info", "default") : null,
    h("span", { class: "mode-reason" }, m.eligible ? providersText(m.providers) : msg(why))));
  }
  table.append(h("thead", {}, head));
  const body = h("tbody");
  const features = grid.modes.length ? grid.modes[0].features.map((f) => f.id) : [];
  for (const id of features) {
    const row = h("tr", {}, h("th", { scope: "row" }, featureName(id), h("br"), h("code", {}, id)));
    for (const m of grid.modes) {
      const f = m.features.find((x) => x.id === id);
      const why = f.supported
        ? `${id} under ${m.id}: ${f.route.provider}, ${routeText(f.route)}`
        : `${id} under ${m.id}: ${reasonText(f.reasons)}`;
      const code = f.reasons && f.reasons[0] ? f.reasons[0].code : "";
      const cell = h("button", {
        type: "button", class: `cell ${f.supported ? "ok" : "no"}`, title: why,
        "data-mode": m.id, "data-feature": id, "data-supported": f.supported, "aria-pressed": "false",
        "aria-label": `${featureName(id)} under ${m.id}: ${f.supported ? "supported" : "not supported"}`,
        onclick: () => showDetail(cell, m, f), onfocus: () => showDetail(cell, m, f),
      },
      f.supported ? ["✓ ", f.route.provider, h("small", {}, routeText(f.route))]
        : ["✕ ", SHORT[code] || code]);
      row.append(h("td", {}, cell));
    }
    body.append(row);
  }
  table.append(body);
}

function providersText(list) {
  return list.length ? `providers: ${list.map((p) => p.id).join(", ")}` : "";
}

function showDetail(cell, mode, feature) {
  for (const c of document.querySelectorAll(".cell[aria-pressed=true]")) c.setAttribute("aria-pressed", "false");
  cell.setAttribute("aria-pressed", "true");
  const detail = $("detail");
  const lines = [h("p", {}, h("strong", {}, featureName(feature.id)), " under ",
    h("strong", {}, mode.name), " ", badge(feature.supported ? "ok" : "no", feature.supported ? "supported" : "not supported"))];
  if (feature.supported) {
    lines.push(h("p", {}, "Route: ", h("code", {}, feature.route.provider), " ", routeText(feature.route)));
  }
  for (const r of feature.reasons) lines.push(h("p", {}, h("strong", {}, r.code), ": ", msg(r.message)));
  for (const r of mode.reasons) lines.push(h("p", { class: "hint" }, "Mode: ", h("strong", {}, r.code), ": ", msg(r.message)));
  detail.replaceChildren(...lines);
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function outcomeBadge(outcome) {
  return badge(outcome === "permit" ? "ok" : outcome === "partial" ? "warn" : "no", outcome);
}

function obligationList(list) {
  if (!list.length) return h("p", { class: "hint" }, "None.");
  return h("ul", { class: "plain" }, list.map((o) =>
    h("li", {}, badge(o.kind === "warning" ? "warn" : "info", o.kind), h("code", {}, o.code), " ", msg(o.message))));
}

function renderDecision(d) {
  const features = h("table", {},
    h("thead", {}, h("tr", {}, ["Feature", "Route", "Fallbacks"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, d.features.map((f) => h("tr", {},
      h("th", { scope: "row" }, f.id),
      h("td", {}, f.permitted ? [badge("ok", "permitted"), f.route.provider, " · ", routeText(f.route)]
        : [badge("no", "refused"), msg(reasonText(f.reasons))]),
      h("td", {}, f.permitted && f.fallbacks.length ? f.fallbacks.map((r) => r.provider).join(", ") : "—")))));
  $("decision").replaceChildren(
    facts([
      ["Outcome", outcomeBadge(d.outcome)],
      ["Mode", d.mode || "none"],
      ["Default mode", d.default_mode],
      ["Recommended", d.recommended_mode || "none serves every feature"],
      ["Eligible modes", d.eligible_modes.join(", ") || "none"],
      ["Data handling", `${d.data_handling.processing}, ${d.data_handling.third_party ? "third-party providers" : "vendor only"}, no training on customer content`],
      ["Decision id", h("code", {}, d.decision_id)],
    ]),
    h("div", { class: "scroll" }, features),
    h("h3", {}, "Obligations and warnings"), obligationList(d.obligations),
    h("h3", {}, "Explain trace"),
    h("ol", { class: "trace", id: "trace" }, (d.trace || []).map((r) => h("li", {}, h("strong", {}, r.code), ": ", msg(r.message)))));
}

function renderCompare(c) {
  const cols = c.modes;
  const head = h("tr", {}, h("th", { scope: "col" }, ""), cols.map((m) => h("th", { scope: "col", "data-mode": m.mode },
    m.name, " ", h("span", { class: "mode-id" }, `(${m.mode})`), h("br"),
    m.is_current ? badge("info", "current") : null, m.is_default ? badge("info", "default") : null)));
  const row = (label, cell) => h("tr", {}, h("th", { scope: "row" }, label), cols.map((m) => h("td", {}, cell(m))));
  const rows = [
    row("Eligible", (m) => [badge(m.eligible ? "ok" : "no", m.eligible ? "yes" : "no"), m.eligible ? "" : h("small", {}, msg(reasonText(m.reasons)))]),
    row("Outcome", (m) => outcomeBadge(m.outcome)),
    ...c.features.map((id) => row(featureName(id), (m) => {
      const f = m.features.find((x) => x.id === id);
      return f.permitted ? [badge("ok", "✓"), f.route.provider, h("br"), h("small", {}, routeText(f.route))]
        : [badge("no", "✕"), h("small", {}, msg(reasonText(f.reasons)))];
    })),
    row("Processing", (m) => m.data_handling ? `${m.data_handling.processing}${m.data_handling.third_party ? ", third party" : ""}` : "—"),
    row("Obligations", (m) => m.obligations.map((o) => o.code).join(", ") || "—"),
  ];
  const summary = h("ul", { class: "summary-list" }, c.summary.map((s) => h("li", { "data-mode": s.mode },
    msg(s.message),
    s.gained_features.length ? [" ", ...s.gained_features.map((f) => badge("ok", `+ ${f}`))] : null,
    s.lost_features.length ? [" ", ...s.lost_features.map((f) => badge("no", `− ${f}`))] : null,
    s.processing ? [" ", badge("warn", `processing ${s.processing.from} → ${s.processing.to}`)] : null,
    s.obligations_added.length ? [" ", ...s.obligations_added.map((o) => badge("warn", `+ ${o}`))] : null)));
  $("compare").replaceChildren(
    h("p", {}, "Current mode: ", h("strong", {}, c.current_mode || "none"),
      ` (${c.current_mode_source === "selected" ? "selected by the tenant" : c.current_mode_source === "decided" ? "what a decision picks" : "no mode is eligible"}).`),
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, head), h("tbody", {}, rows))),
    h("h3", {}, "Moving from the current mode"), summary);
}

// ---------------------------------------------------------------------------
// Catalog browser
// ---------------------------------------------------------------------------

function renderCatalog(c, changelog) {
  const modeRows = c.modes.flatMap((m) => m.offerings.map((o) => h("tr", {},
    h("th", { scope: "row" }, m.id), h("td", {}, o.regions.join(", ")), h("td", {}, o.clusters.join(", ")),
    h("td", {}, o.providers.map((p) => `${p.id}${p.platform ? ` on ${p.platform}` : ""} (${p.processing}${p.only_features ? `, only ${p.only_features.join(", ")}` : ""})`).join("; ")))));
  const featureRows = c.features.map((f) => h("tr", {},
    h("th", { scope: "row" }, f.name || f.id, h("br"), h("code", {}, f.id)),
    c.modes.map((m) => h("td", {}, f.routes[m.id] ? f.routes[m.id].map((p) => `${p.provider} ${p.model}`).join(" → ") : "—"))));
  const table = (cols, rows) => h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, cols.map((x) => h("th", { scope: "col" }, x)))), h("tbody", {}, rows)));
  const regimes = [
    h("h3", {}, "Every tenant"), obligationList(c.obligations),
    ...c.compliance.flatMap((r) => [h("h3", {}, `${r.name} (${r.id})`), obligationList(r.obligations)]),
  ];
  $("catalog").replaceChildren(
    h("p", {}, "Version ", h("strong", {}, c.version), `, decisions cacheable for ${c.ttl_seconds} s. Digest `, h("code", {}, c.digest.slice(0, 16))),
    h("details", { open: true }, h("summary", {}, `Changelog (${changelog.length})`),
      h("ol", { class: "timeline", reversed: true }, changelog.slice().reverse().map((e) =>
        h("li", {}, h("time", { datetime: e.date }, e.date), h("code", {}, e.version), h("br"), msg(e.summary))))),
    h("details", {}, h("summary", {}, `Regions (${c.regions.length})`),
      table(["Region", "Name", "Default cluster", "Default mode"], c.regions.map((r) =>
        h("tr", {}, h("th", { scope: "row" }, r.id), h("td", {}, r.name), h("td", {}, r.default_cluster), h("td", {}, r.default_mode))))),
    h("details", {}, h("summary", {}, `Modes and where they are offered (${c.modes.length})`),
      h("ul", { class: "plain" }, c.modes.map((m) => h("li", {}, h("strong", {}, `${m.id} (exposure ${m.exposure})`), ": ", m.summary))),
      table(["Mode", "Regions", "Clusters", "Providers"], modeRows)),
    h("details", {}, h("summary", {}, `Features and provider preferences (${c.features.length})`),
      table(["Feature", ...c.modes.map((m) => m.id)], featureRows)),
    h("details", {}, h("summary", {}, `Providers (${c.providers.length})`),
      table(["Provider", "Name", "Third party"], c.providers.map((p) =>
        h("tr", {}, h("th", { scope: "row" }, p.id), h("td", {}, p.name || ""), h("td", {}, p.third_party ? "yes" : "no"))))),
    h("details", {}, h("summary", {}, `Add-ons (${c.add_ons.length})`),
      table(["Add-on", "Modes", "Summary"], c.add_ons.map((a) =>
        h("tr", {}, h("th", { scope: "row" }, a.name || a.id, h("br"), h("code", {}, a.id)), h("td", {}, a.modes.join(", ")), h("td", {}, a.summary || ""))))),
    h("details", {}, h("summary", {}, "Obligations and compliance regimes"), regimes),
    h("details", {}, h("summary", {}, `Sectors (${c.sectors.length})`),
      table(["Sector", "High exposure"], c.sectors.map((s) =>
        h("tr", {}, h("th", { scope: "row" }, s.id), h("td", {}, s.high_exposure ? "yes" : "no"))))),
    h("details", {}, h("summary", {}, `Tenant profiles (${c.tenants.length})`),
      table(["Tenant", "Region", "Cluster", "Residency", "Selected mode", "Compliance", "Add-ons", "Training opt-out"], c.tenants.map((t) =>
        h("tr", {}, h("th", { scope: "row" }, t.id), h("td", {}, t.region), h("td", {}, t.data_cluster || "default"),
          h("td", {}, t.residency || "preferred"), h("td", {}, t.selected_mode || "—"), h("td", {}, (t.compliance || []).join(", ") || "—"),
          h("td", {}, (t.add_ons || []).join(", ") || "—"), h("td", {}, t.training_opt_out ? "yes" : "no"))))));
}

async function start() {
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token-form").hidden = true;
    load();
  });
  await load();
}

async function load() {
  try {
    if (catalog === null) {
      const [c, log] = await Promise.all([api("/v1/catalog"), api("/v1/catalog/changelog")]);
      catalog = c;
      $("catalog-version").textContent = c.version;
      buildControls(c);
      renderCatalog(c, log.changelog);
    }
    await refresh();
  } catch (err) {
    $("catalog-version").textContent = "not loaded";
    if (err.status === 401 || err.status === 403) askForToken(err);
    status(`The catalog could not be loaded: ${err.message}`, true);
  }
}

start();
