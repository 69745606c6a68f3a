// The ftprep review page: lists the records, shows one as a conversation with its findings,
// and saves each decision through the JSON API (see ftprep/review/server.py).
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token") || sessionStorage.getItem("ftprep-token") || "";
sessionStorage.setItem("ftprep-token", token);

const state = {
  meta: null,
  order: [],      // rows matching the filters, in list order
  listed: 0,      // rows rendered in the list so far
  position: -1,   // index into order of the record shown
  item: null,     // the record shown
  rejecting: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function showError(message) {
  $("error-text").textContent = message;
  $("error").classList.remove("hidden");
}

function clearError() {
  $("error").classList.add("hidden");
}

async function api(path, body) {
  const options = { headers: { "X-Ftprep-Token": token }, credentials: "same-origin" };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new Error("ftprep review is not answering (was it stopped?): " + err.message);
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    throw new Error(`the server answered ${response.status} without data`);
  }
  if (!response.ok) throw new Error(data && data.error ? data.error : `error ${response.status}`);
  return data;
}

function setProgress(progress) {
  const { reviewed, total } = progress;
  $("progress-text").textContent = `${reviewed.toLocaleString()} of ${total.toLocaleString()} reviewed`;
  $("progress-fill").style.width = total ? `${(100 * reviewed) / total}%` : "0";
}

// --- filters and the address's hash ------------------------------------------------------

const FILTERS = ["code", "severity", "split", "cluster", "status", "q"];

function filters() {
  const out = {};
  for (const name of FILTERS) {
    const value = $(`f-${name}`).value.trim();
    if (value) out[name] = value;
  }
  return out;
}

function writeHash() {
  const hash = new URLSearchParams(filters());
  if (state.item) hash.set("row", state.item.row);
  history.replaceState(null, "", `${location.pathname}${location.search}#${hash}`);
}

function readHash() {
  const hash = new URLSearchParams(location.hash.slice(1));
  for (const name of FILTERS) {
    const select = $(`f-${name}`);
    const value = hash.get(name);
    if (value === null) continue;
    if (select.tagName === "SELECT" && ![...select.options].some((o) => o.value === value)) {
      select.append(el("option", { value }, name === "cluster" ? "one cluster" : value));
    }
    select.value = value;
  }
  const row = hash.get("row");
  return row === null ? null : Number(row);
}

function fillSelect(id, values, label = (v) => v) {
  const select = $(id);
  for (const value of values) select.append(el("option", { value }, label(value)));
}

// --- the list -----------------------------------------------------------------------------

function listEntry(summary) {
  const badges = [];
  if (summary.severity) badges.push(...summary.codes.map((code) => el("span", { class: `badge ${summary.severity}` }, code)));
  if (summary.decision) badges.push(el("span", { class: `badge ${summary.decision}` }, summary.decision));
  return el(
    "a",
    {
      href: "#",
      "data-row": summary.row,
      class: state.item && state.item.row === summary.row ? "current" : null,
      onclick: (event) => {
        event.preventDefault();
        go(state.order.indexOf(summary.row));
      },
    },
    el("div", { class: "where" }, `${summary.path}:${summary.line}`, ...badges),
    el("div", { class: "preview" }, summary.preview || "(no text)"),
  );
}

async function loadList(keepRow) {
  const query = new URLSearchParams({ ...filters(), offset: "0" });
  const data = await api(`/api/list?${query}`);
  state.order = data.order;
  state.listed = 0;
  $("list").replaceChildren();
  $("matched").textContent = `${data.matched.toLocaleString()} matching`;
  appendRows(data);
  setProgress(data.progress);
  const at = keepRow === null || keepRow === undefined ? -1 : state.order.indexOf(keepRow);
  if (at >= 0) await go(at);
  else if (keepRow !== null && keepRow !== undefined) await show(keepRow, -1);
  else if (state.order.length) await go(0);
  else {
    state.item = null;
    state.position = -1;
    $("example").replaceChildren(el("p", { class: "empty" }, "No record matches these filters."));
    writeHash();
  }
}

function appendRows(data) {
  const list = $("list");
  const more = list.querySelector(".more");
  if (more) more.remove();
  for (const summary of data.rows) list.append(listEntry(summary));
  state.listed = data.offset + data.rows.length;
  if (state.listed < data.matched) {
    list.append(el("button", { class: "more", type: "button", onclick: loadMore }, `show more (${(data.matched - state.listed).toLocaleString()} left)`));
  }
}

async function loadMore() {
  const query = new URLSearchParams({ ...filters(), offset: String(state.listed) });
  appendRows(await api(`/api/list?${query}`));
}

function markCurrent() {
  for (const link of $("list").querySelectorAll("a")) {
    const current = state.item && Number(link.dataset.row) === state.item.row;
    link.classList.toggle("current", current);
    if (current) link.scrollIntoView({ block: "nearest" });
  }
}

function refreshListEntry(item) {
  const link = $("list").querySelector(`a[data-row="${item.row}"]`);
  if (!link) return;
  const worst = ["error", "warning", "info"].find((s) => item.findings.some((f) => f.severity === s));
  const codes = [...new Set(item.findings.map((f) => f.code))].sort();
  const preview = link.querySelector(".preview").textContent;
  const fresh = listEntry({
    row: item.row, path: item.path, line: item.line, codes, severity: worst || null,
    decision: item.decision ? item.decision.decision : null, preview,
  });
  link.replaceWith(fresh);
  markCurrent();
}

// --- one record ---------------------------------------------------------------------------

async function go(position) {
  if (position < 0 || position >= state.order.length) return;
  while (position >= state.listed && state.listed < state.order.length) await loadMore();
  await show(state.order[position], position);
}

async function show(row, position) {
  try {
    const item = await api(`/api/item?row=${row}`);
    state.position = position;
    render(item);
  } catch (err) {
    showError(err.message);
  }
}

function highlighted(text, findings) {
  // Marks the span each finding points at (the server works it out: see _finding).
  const spans = findings
    .filter((f) => Array.isArray(f.span) && f.span[1] <= text.length)
    .map((f) => f.span)
    .sort((a, b) => a[0] - b[0]);
  const out = [];
  let at = 0;
  for (const [start, end] of spans) {
    if (start < at) continue;
    out.push(text.slice(at, start), el("mark", {}, text.slice(start, end)));
    at = end;
  }
  out.push(text.slice(at));
  return out;
}

function findingNode(f) {
  return el(
    "div",
    { class: `finding ${f.severity}` },
    el("span", { class: "code" }, f.code),
    el("span", { class: `badge ${f.severity}` }, f.severity),
    " ",
    f.message,
    f.hint ? el("div", { class: "hint" }, "hint: ", f.hint) : null,
  );
}

function turnNode(item, turn) {
  const findings = item.findings.filter((f) => f.turn === turn.turn);
  const worst = findings.some((f) => f.severity === "error") ? "error" : "";
  const edited = turn.text !== turn.original;
  const node = el(
    "div",
    { class: `turn ${turn.role} ${findings.length ? "flagged" : ""} ${worst}`, "data-turn": turn.turn },
    el(
      "div",
      { class: "role" },
      turn.role,
      turn.turn.startsWith("messages/") ? null : el("span", {}, turn.turn.split("/")[0]),
      edited ? el("span", { class: "edited" }, "edited") : null,
      el("button", { type: "button", class: "edit", onclick: () => startEdit(node, turn) }, "edit"),
    ),
    el("div", { class: "text" }, turn.text ? highlighted(turn.text, edited ? [] : findings) : "(empty)"),
    findings.length ? el("div", { class: "findings" }, findings.map(findingNode)) : null,
  );
  return node;
}

function startEdit(node, turn) {
  if (node.querySelector("textarea")) return;
  const area = el("textarea", { "aria-label": `new text of ${turn.turn}` });
  area.value = turn.text;
  const cancel = () => render(state.item);
  const save = () => decide({ decision: "edit", turn: turn.turn, text: area.value });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) save();
    if (event.key === "Escape") cancel();
    event.stopPropagation();
  });
  node.querySelector(".text").replaceWith(area);
  node.append(
    el(
      "div",
      { class: "editbar" },
      el("button", { type: "button", class: "save", onclick: save }, "Save edit"),
      el("button", { type: "button", onclick: cancel }, "Cancel"),
      el("span", { class: "meta" }, "Ctrl+Enter saves, Esc cancels"),
    ),
  );
  area.focus();
}

function actionsNode(item) {
  const kind = item.decision ? item.decision.decision : null;
  const status = kind === "reject"
    ? `rejected: ${item.decision.reason}`
    : kind === "edit" ? "edited" : kind === "accept" ? "accepted" : "not reviewed";
  const bar = el(
    "div",
    { class: "actions" },
    el("button", { type: "button", class: `accept ${kind === "accept" ? "chosen" : ""}`, id: "accept", onclick: accept }, "✓ Accept (a)"),
    el("button", { type: "button", class: `reject ${kind === "reject" ? "chosen" : ""}`, id: "reject", onclick: toggleReasons }, "✗ Reject (r)"),
    el("button", { type: "button", id: "previous", onclick: () => step(-1) }, "← Previous (p)"),
    el("button", { type: "button", id: "next", onclick: () => step(1) }, "Next (n) →"),
    kind ? el("button", { type: "button", id: "undo", onclick: undo }, "Undo (u)") : null,
    el("span", { class: "status", id: "status" }, status),
  );
  if (state.rejecting) {
    const other = el("input", { type: "text", id: "reason-text", placeholder: "another reason (Enter rejects)" });
    other.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && other.value.trim()) reject(other.value.trim());
      if (event.key === "Escape") toggleReasons();
      event.stopPropagation();
    });
    bar.append(
      el(
        "div",
        { class: "reasons", id: "reasons" },
        state.meta.reasons.map((reason, i) =>
          el("button", { type: "button", class: "reason", onclick: () => reject(reason) }, `${i + 1}. ${reason}`),
        ),
        el(
          "span",
          { class: "other" },
          other,
          el("button", { type: "button", id: "reject-other", onclick: () => other.value.trim() && reject(other.value.trim()) }, "Reject"),
        ),
      ),
    );
  }
  return bar;
}

function render(item) {
  state.item = item;
  setProgress(item.progress);
  const loose = item.findings.filter((f) => !f.turn || !item.turns.some((t) => t.turn === f.turn));
  const where = state.position >= 0 ? `${state.position + 1} of ${state.order.length}` : "outside the filter";
  const cluster = item.cluster.length
    ? el(
        "div",
        { class: "cluster" },
        `In a duplicate cluster with ${item.cluster.length} other record${item.cluster.length > 1 ? "s" : ""}: `,
        item.cluster.map((c) =>
          el("a", { href: "#", onclick: (e) => { e.preventDefault(); const at = state.order.indexOf(c.row); show(c.row, at); } }, `${c.path}:${c.line}`),
        ),
        el("a", { href: "#", id: "show-cluster", onclick: (e) => { e.preventDefault(); filterCluster(item); } }, "list only this cluster"),
      )
    : null;
  const parts = [
    el(
      "div",
      { class: "head" },
      el("h2", {}, `${item.path}:${item.line}`),
      el("span", { class: "badge split" }, item.split),
      el("span", { class: "meta" }, `${item.tokens.toLocaleString()} tokens · ${where}`),
    ),
    cluster,
    actionsNode(item),
    loose.map(findingNode),
    item.turns.length ? item.turns.map((t) => turnNode(item, t)) : el("pre", { class: "raw" }, item.raw || ""),
  ];
  $("example").replaceChildren(...parts.flat().filter((part) => part));
  refreshListEntry(item);
  markCurrent();
  writeHash();
}

function filterCluster(item) {
  for (const name of FILTERS) $(`f-${name}`).value = ""; // the whole cluster, whatever its codes
  const select = $("f-cluster");
  const value = String(item.row);
  if (![...select.options].some((o) => o.value === value)) {
    select.append(el("option", { value }, `the cluster of line ${item.line}`));
  }
  select.value = value;
  loadList(item.row).catch((err) => showError(err.message));
}

// --- decisions ----------------------------------------------------------------------------

async function decide(body) {
  const item = state.item;
  if (!item) return false;
  try {
    const saved = await api("/api/decide", {
      ...body, fingerprint: item.fingerprint, rev: item.rev, version: state.meta.version,
    });
    clearError();
    state.rejecting = false;
    render(saved);
    return true;
  } catch (err) {
    showError(`Not saved: ${err.message}`);
    return false;
  }
}

async function accept() {
  const codes = [...new Set(state.item.findings.map((f) => f.code))];
  if (await decide({ decision: "accept", codes })) step(1);
}

async function reject(reason) {
  if (await decide({ decision: "reject", reason })) step(1);
}

function toggleReasons() {
  state.rejecting = !state.rejecting;
  render(state.item);
}

async function undo() {
  if (state.item && state.item.decision) await decide({ decision: "clear" });
}

function step(delta) {
  const next = state.position + delta;
  if (next >= 0 && next < state.order.length) go(next);
}

function editFlagged() {
  const item = state.item;
  if (!item || !item.turns.length) return;
  const flagged = item.turns.find((t) => item.findings.some((f) => f.turn === t.turn));
  const turn = flagged || [...item.turns].reverse().find((t) => t.role === "assistant") || item.turns[0];
  const node = $("example").querySelector(`.turn[data-turn="${turn.turn}"]`);
  if (node) startEdit(node, turn);
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) {
    if (event.key === "Escape") target.blur();
    return;
  }
  const key = event.key;
  if (["a", "r", "n", "j", "p", "k", "u", "e", "/"].includes(key) || (state.rejecting && /^[1-9]$/.test(key))) {
    event.preventDefault(); // a key that acts is not also typed into the box it focuses
  }
  if (state.rejecting && /^[1-9]$/.test(key)) {
    const reason = state.meta.reasons[Number(key) - 1];
    if (reason) reject(reason);
  } else if (key === "a") accept();
  else if (key === "r") toggleReasons();
  else if (key === "n" || key === "j" || key === "ArrowRight") step(1);
  else if (key === "p" || key === "k" || key === "ArrowLeft") step(-1);
  else if (key === "u") undo();
  else if (key === "e") editFlagged();
  else if (key === "/") $("f-q").focus();
  else if (key === "Escape" && state.rejecting) toggleReasons();
});

// --- start --------------------------------------------------------------------------------

async function start() {
  $("error-close").addEventListener("click", clearError);
  try {
    const meta = await api("/api/meta");
    state.meta = meta;
    $("files").textContent = meta.files.join(", ");
    $("files").title = meta.files.join("\n");
    $("review-file").textContent = `decisions saved to ${meta.review_file}`;
    fillSelect("f-code", Object.keys(meta.codes), (code) => `${code} (${meta.codes[code]})`);
    fillSelect("f-severity", meta.severities);
    fillSelect("f-split", meta.splits);
    setProgress(meta.progress);
    if (meta.dataset_findings.length) {
      const count = meta.dataset_findings.length;
      $("dataset-summary").textContent = `${count} finding${count > 1 ? "s" : ""} about the dataset as a whole`;
      $("dataset").append(...meta.dataset_findings.map(findingNode));
      $("dataset").classList.remove("hidden");
    }
    const row = readHash();
    for (const name of FILTERS) {
      const input = $(`f-${name}`);
      let timer = null;
      input.addEventListener(name === "q" ? "input" : "change", () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          state.rejecting = false;
          loadList(null).catch((err) => showError(err.message));
        }, name === "q" ? 250 : 0);
      });
    }
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    await loadList(row);
  } catch (err) {
    showError(err.message);
    $("example").replaceChildren(el("p", { class: "empty" }, "The review could not start."));
  }
}

start();
