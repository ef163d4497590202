// aipdp API reference: renders this service's /openapi.json, offline.
// A few dozen lines instead of a bundled Swagger UI: the document is
// generated from the code, so this page only has to lay it out.
"use strict";

const $ = (id) => document.getElementById(id);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    // data- and aria- attributes keep "true"/"false"; others are boolean.
    const literal = k.startsWith("data-") || k.startsWith("aria-");
    if (v === null || v === undefined || (v === false && !literal)) continue;
    el.setAttribute(k, v === true && !literal ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const refName = (ref) => ref.split("/").pop();
const anchor = (name) => `schema-${name}`;

// A schema as a short type expression, linking named schemas.
function typeOf(s) {
  if (!s) return "any";
  if (s.$ref) return h("a", { href: `#${anchor(refName(s.$ref))}` }, refName(s.$ref));
  for (const key of ["oneOf", "anyOf", "allOf"]) {
    if (s[key]) return s[key].map(typeOf).flatMap((t, i) => (i ? [" | ", t] : [t]));
  }
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const t = Array.isArray(s.type) ? s.type.join(" | ") : s.type || "object";
  if (t.includes("array")) return ["[", typeOf(s.items), "]", t.includes("null") ? " | null" : ""];
  return t;
}

function propertiesTable(s) {
  const props = Object.entries(s.properties || {});
  if (!props.length) return h("p", { class: "hint" }, "Type: ", typeOf(s));
  const required = new Set(s.required || []);
  return h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Field", "Type", "Description"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, props.map(([name, p]) => h("tr", {},
      h("th", { scope: "row" }, h("code", {}, name), required.has(name) ? " *" : ""),
      h("td", {}, typeOf(p)), h("td", {}, p.description || ""))))));
}

// The document, for resolving shared answers (`#/components/responses/...`).
let doc = null;

function response(r) {
  return r.$ref ? doc.components.responses[refName(r.$ref)] || { description: refName(r.$ref) } : r;
}

// Who may call an operation: its security requirements, where `{}` means
// no token is needed (API tokens are optional, off until configured).
function security(op) {
  if (!op.security) return null;
  const alternatives = op.security.map((req) => Object.keys(req));
  const tokens = alternatives.filter((names) => names.length).map((names) => names.join(" + "));
  if (!tokens.length) return null;
  const optional = alternatives.some((names) => !names.length);
  return h("p", {}, "Bearer token: ", tokens.map((t, i) => [i ? " or " : "", h("code", {}, t)]),
    optional ? " (only when the service has tokens configured)" : " (required)");
}

function operation(path, method, op) {
  const id = `op-${method}-${path.replace(/[^a-z0-9]+/gi, "-")}`;
  const params = (op.parameters || []).map((p) => h("li", {},
    h("code", {}, p.name), ` (${p.in}${p.required ? ", required" : ""}): `, typeOf(p.schema), p.description ? ` — ${p.description}` : ""));
  const body = op.requestBody && op.requestBody.content
    ? Object.entries(op.requestBody.content).map(([type, c]) => h("p", {}, "Request body ", h("code", {}, type), ": ", typeOf(c.schema)))
    : [];
  const responses = Object.entries(op.responses || {}).map(([code, declared]) => {
    const r = response(declared);
    const headers = Object.keys(r.headers || {});
    return h("li", {},
      h("strong", {}, code), " ", r.description || "",
      Object.entries(r.content || {}).map(([type, c]) => [" — ", h("code", {}, type), " ", typeOf(c.schema)]),
      headers.length ? [" — headers ", headers.map((name, i) => [i ? ", " : "", h("code", {}, name)])] : null);
  });
  return h("section", { class: "panel", id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, h("span", { class: "badge info" }, method.toUpperCase()), h("code", {}, path)),
    op.summary ? h("p", {}, h("strong", {}, op.summary)) : null,
    op.description ? h("p", {}, op.description) : null,
    security(op),
    params.length ? [h("h3", {}, "Parameters"), h("ul", { class: "plain" }, params)] : null,
    body,
    h("h3", {}, "Responses"), h("ul", { class: "plain" }, responses));
}

async function start() {
  try {
    const answer = await fetch("/openapi.json");
    if (!answer.ok) throw new Error(`HTTP ${answer.status} ${answer.statusText}`.trim());
    doc = await answer.json();
    $("api-version").textContent = `OpenAPI ${doc.openapi} · ${doc.info.title} ${doc.info.version}`;
    $("intro").replaceChildren(h("section", { class: "panel" }, h("h2", {}, doc.info.title), h("p", {}, doc.info.description || "")));
    const byTag = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, { tag: { name: tag }, ops: [] });
        byTag.get(tag).ops.push([path, method, op]);
      }
    }
    const toc = [];
    const sections = [];
    for (const { tag, ops } of byTag.values()) {
      if (!ops.length) continue;
      sections.push(h("h2", { id: `tag-${tag.name}` }, tag.name, tag.description ? h("span", { class: "thin" }, ` — ${tag.description}`) : ""));
      toc.push(h("h3", {}, h("a", { href: `#tag-${tag.name}` }, tag.name)));
      toc.push(h("ul", { class: "plain" }, ops.map(([p, m]) => h("li", {}, h("a", { href: `#op-${m}-${p.replace(/[^a-z0-9]+/gi, "-")}` }, `${m.toUpperCase()} ${p}`)))));
      for (const [p, m, op] of ops) sections.push(operation(p, m, op));
    }
    const schemas = Object.entries((doc.components && doc.components.schemas) || {}).sort(([a], [b]) => a.localeCompare(b));
    toc.push(h("h3", {}, h("a", { href: "#schemas-title" }, `schemas (${schemas.length})`)));
    $("toc").replaceChildren(...toc);
    $("operations").replaceChildren(...sections);
    $("schemas").replaceChildren(...schemas.map(([name, s]) => h("details", { id: anchor(name) },
      h("summary", {}, name), s.description ? h("p", {}, s.description) : null, propertiesTable(s))));
    // Opening a schema link opens its section.
    window.addEventListener("hashchange", openTarget);
    openTarget();
  } catch (err) {
    const el = $("status");
    el.textContent = `The API description could not be loaded: ${err.message}`;
    el.classList.add("error");
    el.setAttribute("role", "alert");
  }
}

function openTarget() {
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target && target.tagName === "DETAILS") target.open = true;
}

start();
