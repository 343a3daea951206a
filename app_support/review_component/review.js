// The review list / one-at-a-time view: decisions shown at once, saved in the background.
//
// Untrusted text (variants, originals, ids, tags, labels) reaches the DOM only through
// textContent and setAttribute: this file never parses markup (tests/test_review_component.py).
//
// State lives on window (one per dataset), not in the DOM: Streamlit calls this function
// again on every rerun with new data, and the queue must survive that.

const QUEUE_PREFIX = "augment-review:queue:";
const ACK_TIMEOUT_MS = 5000;
const RETRY_MS = 1500;
const MAX_BATCH = 200;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function newTabId() {
  const r = Math.random().toString(36).slice(2, 8);
  return Date.now().toString(36) + r;
}

// What the server takes (augment_core.review.queue.parse_batch): an entry kept in the
// browser is checked the same way before it is sent again, and rebuilt from its checked
// fields, so a damaged or planted entry (a value nested thousands deep) is dropped with
// one line instead of breaking every later send.
const ID_RE = /^[A-Za-z0-9_.:-]{1,80}$/;
const OPS = ["accepted", "rejected", "clear", "undo"];

function checkedEntry(e) {
  if (!e || typeof e !== "object" || typeof e.id !== "string" || !ID_RE.test(e.id) || !OPS.includes(e.op)) return null;
  if (e.op === "undo") {
    if (e.key != null || (e.origin != null && (typeof e.origin !== "string" || !ID_RE.test(e.origin)))) return null;
    return { id: e.id, op: "undo", key: null, shown: null, origin: e.origin == null ? null : e.origin };
  }
  // decisions name a key; an undo names none (it carries the server-side origin of the tab
  // whose action it undoes, so a replay after a reload undoes that one)
  if (typeof e.key !== "string" || !e.key.length || e.key.length > 1000) return null;
  if (e.shown != null && e.shown !== "accepted" && e.shown !== "rejected") return null;
  return { id: e.id, op: e.op, key: e.key, shown: e.shown == null ? null : e.shown };
}

function loadQueue(hash) {
  // [entries, how many were dropped]; what is dropped is dropped from the storage too
  let raw = null;
  try { raw = window.localStorage.getItem(QUEUE_PREFIX + hash); } catch (err) { return [[], 0]; }
  if (!raw) return [[], 0];
  let list = null;
  try { list = JSON.parse(raw); } catch (err) { list = null; }
  const kept = Array.isArray(list) ? list.map(checkedEntry).filter((e) => e) : [];
  const dropped = Array.isArray(list) ? list.length - kept.length : 1;
  if (dropped) {
    try {
      if (kept.length) window.localStorage.setItem(QUEUE_PREFIX + hash, JSON.stringify(kept));
      else window.localStorage.removeItem(QUEUE_PREFIX + hash);
    } catch (err) { /* storage off: the in-memory queue is what is sent */ }
  }
  return [kept, dropped];
}

function makeState(hash) {
  const [restored, dropped] = loadQueue(hash);
  restored.forEach((e) => { e.status = "queued"; e.unsaved = true; });
  const messages = dropped ? [{ text: dropped + " decision(s) kept in this browser were not well-formed and " +
    "were dropped (nothing of them was sent)." }] : [];
  return {
    hash: hash,
    tab: newTabId(),
    counter: 0,
    queue: restored,        // decisions and undos not yet confirmed, in order
    inflight: null,         // {seq, ids, timer}
    seq: 0,
    problem: restored.length ? "replay" : "",
    messages: messages,     // conflicts and the like, shown until dismissed
    saved: new Map(),       // key -> time confirmed (the "saved" mark)
    focusKey: null,
    focusIndex: 0,
    skipped: new Set(),
    help: false,
    data: null,
    rows: new Map(),        // key -> row elements
    root: null,
    sig: null,
    retryTimer: null,
    setTrigger: null,
    lastDecided: null,
  };
}

function persist(s) {
  try {
    const keep = s.queue.map((e) => ({ id: e.id, op: e.op, key: e.key, shown: e.shown, origin: e.origin }));
    if (keep.length) window.localStorage.setItem(QUEUE_PREFIX + s.hash, JSON.stringify(keep));
    else window.localStorage.removeItem(QUEUE_PREFIX + s.hash);
  } catch (err) { /* storage full or off: the in-memory queue still saves */ }
}

function baseDecision(s, key) {
  const d = s.data && s.data.decisions ? s.data.decisions[key] : undefined;
  if (d !== undefined) return d;
  const first = s.queue.find((e) => e.key === key);
  return first ? first.shown : null;
}

function effective(s, key) {
  let d = baseDecision(s, key);
  for (const e of s.queue) {
    if (e.key === key && e.op !== "undo") d = e.op === "clear" ? null : e.op;
  }
  return d === undefined ? null : d;
}

function pendingStatus(s, key) {
  let status = null;
  for (const e of s.queue) {
    if (e.key !== key) continue;
    if (e.unsaved) status = "unsaved";
    else if (!status) status = "saving";
  }
  return status;
}

// --- sending ---------------------------------------------------------------------------

function scriptRunning() {
  const app = document.querySelector("[data-testid='stApp']");
  return !!app && app.getAttribute("data-test-script-state") === "running";
}

function whenIdle(s, fn) {
  // A trigger value set while the script runs can be cleared when that run ends, so a batch
  // is sent only when the page is idle (at once, in the usual case).
  if (!scriptRunning()) { fn(); return; }
  if (s.idleWait) return;
  const app = document.querySelector("[data-testid='stApp']");
  const obs = new MutationObserver(() => {
    if (!scriptRunning()) { obs.disconnect(); s.idleWait = null; fn(); }
  });
  s.idleWait = obs;
  obs.observe(app, { attributes: true, attributeFilter: ["data-test-script-state"] });
}

function flush(s) {
  if (s.inflight || !s.setTrigger) return;
  if (scriptRunning()) { whenIdle(s, () => flush(s)); return; }
  const batch = s.queue.slice(0, MAX_BATCH);
  if (!batch.length) return;
  s.seq += 1;
  const seqNow = s.seq;
  batch.forEach((e) => { e.status = "sent"; });
  const ids = batch.map((e) => e.id);
  const timer = window.setTimeout(() => {
    if (!s.inflight || s.inflight.seq !== seqNow) return;
    s.inflight = null;
    s.queue.forEach((e) => { if (ids.includes(e.id)) { e.status = "queued"; e.unsaved = true; } });
    s.problem = "noanswer";
    refresh(s);
    resync();
    scheduleRetry(s);
  }, ACK_TIMEOUT_MS);
  s.inflight = { seq: s.seq, ids: ids, timer: timer };
  s.setTrigger("batch", {
    seq: s.seq,
    tab: s.tab,
    actions: batch.map((e) => ({ id: e.id, op: e.op, key: e.key, shown: e.shown, origin: e.origin })),
  });
  refreshRoot(s);
}

function resync() {
  // No answer: after a server restart this tab has a new session that does not know the list's
  // fragment, so its triggers are ignored. A whole-page rerun (the page's hidden resync
  // button, outside any fragment) mounts the list again; its data then shows the batch
  // unanswered, and it is sent again from there.
  const btn = document.querySelector(".st-key-review_resync button");
  if (btn && !scriptRunning()) btn.click();
}

function scheduleRetry(s) {
  if (s.retryTimer) return;
  s.retryTimer = window.setTimeout(() => { s.retryTimer = null; flush(s); }, RETRY_MS);
}

function enqueue(s, op, key) {
  s.counter += 1;
  const entry = { id: s.tab + "-" + s.counter, op: op, key: key, shown: key ? effective(s, key) : null, status: "queued" };
  if (op === "undo" && s.data && s.data.origin) entry.origin = s.data.origin;
  s.queue.push(entry);
  persist(s);
  return entry;
}

function decide(s, key, decision) {
  if (!key) return;
  const now = effective(s, key);
  if (now === decision) return;
  enqueue(s, decision, key);
  s.lastDecided = key;
  updateRow(s, key);
  refreshRoot(s);
  flush(s);
}

function undo(s) {
  // The latest entry not yet sent is simply dropped; otherwise undo is sent, in order.
  const last = s.queue[s.queue.length - 1];
  if (last && last.status === "queued" && last.op !== "undo") {
    s.queue.pop();
    persist(s);
    s.focusKey = last.key;
    updateRow(s, last.key);
    refresh(s);
    return;
  }
  if (!s.data || (!s.data.can_undo && !s.queue.some((e) => e.op !== "undo"))) {
    s.messages.push({ text: "Nothing of this tab's to undo." });
    refresh(s);
    return;
  }
  enqueue(s, "undo", null);
  refreshRoot(s);
  flush(s);
}

// --- answers ---------------------------------------------------------------------------

function applyAcks(s, acks) {
  if (!Array.isArray(acks) || !acks.length) return;
  const byId = new Map(acks.map((a) => [a.id, a]));
  const now = Date.now();
  let busy = false;
  const keep = [];
  for (const e of s.queue) {
    const a = byId.get(e.id);
    if (!a || a.status === "busy") {
      if (a) { e.status = "queued"; e.unsaved = true; busy = true; }
      keep.push(e);
      continue;
    }
    if (a.status === "saved" || a.status === "same") {
      s.saved.set(e.key, now);
    } else if (a.status === "conflict") {
      s.messages.push({ text: "Not saved: " + e.key + " was decided " + (a.decision || "undecided") +
        " in another tab or session meanwhile; the page shows the saved decision." });
    } else if (a.status === "invalid") {
      s.messages.push({ text: "Not saved: " + e.key + " is not a variant of this dataset." });
    } else if (a.status === "undone") {
      const keys = Object.keys(a.restored || {});
      if (keys.length === 1) s.focusKey = keys[0];
    } else if (a.status === "nothing") {
      s.messages.push({ text: "Nothing of this tab's to undo." });
    }
  }
  s.queue = keep;
  persist(s);
  if (busy) { s.problem = "busy"; }
  else if (!s.queue.some((e) => e.unsaved)) s.problem = "";
  if (s.inflight && !s.queue.some((e) => s.inflight.ids.includes(e.id) && e.status === "sent")) {
    window.clearTimeout(s.inflight.timer);
    s.inflight = null;
  }
  if (busy) scheduleRetry(s); else flush(s);
}

// --- drawing ---------------------------------------------------------------------------

function textWithSpans(text, spans) {
  // spans: [start, end, kind, before] over text (checked on the server to fit, in order)
  const p = el("p", "rv-text");
  let pos = 0;
  for (const sp of spans || []) {
    const [start, end, kind, before] = sp;
    if (start < pos || end > text.length) continue;
    if (start > pos) p.appendChild(document.createTextNode(text.slice(pos, start)));
    let node;
    if (kind === "delete") {
      node = el("del", "rv-del", before);
      node.setAttribute("title", "deleted");
    } else if (kind === "insert") {
      node = el("ins", "rv-ins", text.slice(start, end));
      node.setAttribute("title", "inserted");
    } else if (kind === "old") {
      node = el("span", "rv-old", text.slice(start, end));
    } else if (kind === "old-delete") {
      node = el("span", "rv-del", text.slice(start, end));
    } else {
      node = el("mark", "rv-sub", text.slice(start, end));
      node.setAttribute("title", "was: " + (before || ""));
    }
    p.appendChild(node);
    pos = end;
  }
  if (pos < text.length) p.appendChild(document.createTextNode(text.slice(pos)));
  return p;
}

function chipFor(s, key) {
  const d = effective(s, key);
  const chip = el("span", "rv-chip rv-" + (d || "undecided"), d || "undecided");
  chip.setAttribute("data-state", d || "undecided");
  return chip;
}

function noteFor(s, key) {
  const status = pendingStatus(s, key);
  const note = el("span", "rv-note");
  if (status === "unsaved") { note.textContent = "not yet saved"; note.setAttribute("data-status", "unsaved"); }
  else if (status === "saving") { note.textContent = "saving…"; note.setAttribute("data-status", "saving"); }
  else if (s.saved.has(key)) { note.textContent = "saved"; note.setAttribute("data-status", "saved"); }
  else note.setAttribute("data-status", "");
  return note;
}

function updateRow(s, key) {
  const row = s.rows.get(key);
  if (!row) return;
  const d = effective(s, key);
  row.chip.replaceWith(row.chip = chipFor(s, key));
  row.note.replaceWith(row.note = noteFor(s, key));
  row.el.setAttribute("data-state", d || "undecided");
  row.accept.setAttribute("aria-pressed", d === "accepted" ? "true" : "false");
  row.reject.setAttribute("aria-pressed", d === "rejected" ? "true" : "false");
}

function counts(s) {
  const c = s.data.counts;
  let acc = c.accepted, rej = c.rejected;
  const seen = new Set();
  for (const e of s.queue) {
    if (!e.key || seen.has(e.key)) continue;
    seen.add(e.key);
    const before = baseDecision(s, e.key), after = effective(s, e.key);
    if (before === "accepted") acc -= 1; else if (before === "rejected") rej -= 1;
    if (after === "accepted") acc += 1; else if (after === "rejected") rej += 1;
  }
  return { total: c.total, accepted: acc, rejected: rej, reviewed: acc + rej, left: c.total - acc - rej };
}

function fmt(n) { return Number(n).toLocaleString("en-US"); }

function drawStatus(s) {
  const bar = s.statusEl;
  while (bar.firstChild) bar.removeChild(bar.firstChild);
  const c = counts(s);
  const line = el("div", "rv-counts");
  [["Reviewed", c.reviewed], ["Accepted", c.accepted], ["Rejected", c.rejected], ["Left", c.left]].forEach(([label, v]) => {
    const span = el("span", "rv-count");
    span.setAttribute("data-count", label.toLowerCase());
    span.appendChild(el("b", null, fmt(v)));
    span.appendChild(document.createTextNode(" " + label.toLowerCase()));
    line.appendChild(span);
  });
  // an undo on its way counts as a decision too (it changes one), until it is answered
  const unsaved = s.queue.filter((e) => e.unsaved).length;
  const saving = s.queue.filter((e) => !e.unsaved).length;
  const sync = el("span", "rv-sync");
  sync.setAttribute("data-unsaved", String(unsaved));
  sync.setAttribute("data-saving", String(saving));
  if (unsaved) {
    sync.classList.add("rv-sync-bad");
    sync.textContent = fmt(unsaved) + " decision(s) not yet saved" + (
      s.problem === "busy" ? ": the database is locked by another program; retrying." :
      s.problem === "replay" ? ": made before the page was reloaded; saving them now." :
      ": no answer from the server; retrying.");
  } else if (saving) {
    sync.textContent = "saving " + fmt(saving) + "…";
  } else {
    sync.textContent = "all decisions saved";
  }
  line.appendChild(sync);
  line.appendChild(el("span", "rv-hint", "keys: j/k move · a accept · r reject · u undo" + (s.data.mode === "focus" ? " · s skip" : "") + " · ? help"));
  bar.appendChild(line);
  s.messages.slice(-5).forEach((m, i, shown) => {
    const msg = el("div", "rv-msg");
    msg.appendChild(el("span", null, m.text));
    const x = el("button", "rv-dismiss", "dismiss");
    x.setAttribute("type", "button");
    x.addEventListener("click", () => { s.messages = []; refresh(s); });
    if (i === shown.length - 1) msg.appendChild(x);
    bar.appendChild(msg);
  });
  if (s.help) {
    const h = el("div", "rv-help");
    [["j / ↓", "next variant"], ["k / ↑", "previous variant"], ["a", "accept the focused variant"],
     ["r", "reject the focused variant"], ["s", "skip (one at a time)"], ["u", "undo this tab's latest decision"],
     ["?", "show or hide this help"]].forEach(([k, what]) => {
      const row = el("div");
      row.appendChild(el("kbd", null, k));
      row.appendChild(document.createTextNode(" " + what));
      h.appendChild(row);
    });
    bar.appendChild(h);
  }
}

function refreshRoot(s) {
  if (s.statusEl) drawStatus(s);
  if (s.root) s.root.setAttribute("data-pending", String(s.queue.length));
}

function refresh(s) {
  for (const key of s.rows.keys()) updateRow(s, key);
  if (s.data && s.data.mode === "focus") drawFocus(s);
  drawFocusRing(s);
  refreshRoot(s);
}

function rowButtons(s, key) {
  const acc = el("button", "rv-btn rv-accept", "Accept");
  const rej = el("button", "rv-btn rv-reject", "Reject");
  acc.setAttribute("type", "button");
  rej.setAttribute("type", "button");
  acc.addEventListener("click", () => { s.focusKey = key; decide(s, key, "accepted"); drawFocusRing(s); });
  rej.addEventListener("click", () => { s.focusKey = key; decide(s, key, "rejected"); drawFocusRing(s); });
  return [acc, rej];
}

function variantRow(s, it, originalText, side) {
  const row = el("div", "rv-row" + (side ? " rv-side" : ""));
  row.setAttribute("data-key", it.key);
  row.setAttribute("tabindex", "-1");
  const head = el("div", "rv-head");
  const chip = chipFor(s, it.key);
  const note = noteFor(s, it.key);
  head.appendChild(chip);
  head.appendChild(note);
  head.appendChild(el("span", "rv-meta", it.meta.join(" · ")));
  const [acc, rej] = rowButtons(s, it.key);
  const buttons = el("div", "rv-buttons");
  buttons.appendChild(acc);
  buttons.appendChild(rej);
  if (side) {
    const left = el("div", "rv-cell rv-left");
    left.appendChild(textWithSpans(originalText, it.ospans));
    const right = el("div", "rv-cell rv-right");
    right.appendChild(head);
    right.appendChild(textWithSpans(it.text, it.spans));
    row.appendChild(left);
    row.appendChild(right);
  } else {
    const body = el("div", "rv-cell");
    body.appendChild(head);
    body.appendChild(textWithSpans(it.text, it.spans));
    row.appendChild(body);
  }
  row.appendChild(buttons);
  row.addEventListener("click", (ev) => { if (ev.target === row || !ev.target.closest("button")) { s.focusKey = it.key; drawFocusRing(s); } });
  s.rows.set(it.key, { el: row, chip: chip, note: note, accept: acc, reject: rej });
  return row;
}

function drawList(s) {
  const body = s.bodyEl;
  while (body.firstChild) body.removeChild(body.firstChild);
  s.rows = new Map();
  const side = s.data.layout === "side";
  for (const g of s.data.groups) {
    const box = el("section", "rv-group");
    const meta = el("div", "rv-meta", "original " + g.parent + (g.tags ? " · " + g.tags : ""));
    box.appendChild(meta);
    if (side) {
      const hdr = el("div", "rv-row rv-side rv-colhead");
      hdr.appendChild(el("div", "rv-cell", "original"));
      hdr.appendChild(el("div", "rv-cell", "variant"));
      box.appendChild(hdr);
    } else {
      const orig = el("div", "rv-original");
      orig.appendChild(textWithSpans(g.original, g.omarks));
      box.appendChild(orig);
    }
    for (const it of g.items) box.appendChild(variantRow(s, it, g.original, side));
    body.appendChild(box);
  }
}

function focusOrder(s) {
  return s.data.mode === "focus" ? s.data.items.map((it) => it.key) : Array.from(s.rows.keys());
}

function drawFocusRing(s) {
  for (const [key, row] of s.rows) row.el.classList.toggle("rv-focus", key === s.focusKey);
}

function turnPage(s, to, focus) {
  // j past the page's last variant (k before its first): ask the server for the next page,
  // once the page is idle (a trigger set while the script runs may be dropped)
  if (s.turning && Date.now() - s.turning.at < 5000) return;
  s.turning = { to: to, focus: focus, at: Date.now() };
  const send = () => {
    if (scriptRunning()) { window.setTimeout(send, 20); return; }
    s.setTrigger("page", { to: to });
  };
  send();
}

function moveFocus(s, step, turn) {
  const keys = focusOrder(s);
  if (!keys.length) return;
  let i = keys.indexOf(s.focusKey);
  const d = s.data || {};
  if (turn && d.mode === "list" && i >= 0) {
    if (step > 0 && i === keys.length - 1 && d.page < d.n_pages) { turnPage(s, d.page + 1, "first"); return; }
    if (step < 0 && i === 0 && d.page > 1) { turnPage(s, d.page - 1, "last"); return; }
  }
  i = i < 0 ? 0 : Math.min(keys.length - 1, Math.max(0, i + step));
  s.focusKey = keys[i];
  drawFocusRing(s);
  const row = s.rows.get(s.focusKey);
  if (row && row.el.scrollIntoView) row.el.scrollIntoView({ block: "nearest" });
}

// --- one at a time -----------------------------------------------------------------------

function currentFocusItem(s) {
  const items = s.data.items;
  const ok = (it) => effective(s, it.key) === null && !s.skipped.has(it.key);
  let it = items.find((x) => x.key === s.focusKey);
  if (it && ok(it)) return it;
  const start = Math.max(0, items.findIndex((x) => x.key === s.lastDecided));
  for (let i = 0; i < items.length; i++) {
    const cand = items[(start + i) % items.length];
    if (ok(cand)) { s.focusKey = cand.key; return cand; }
  }
  return null;
}

function drawFocus(s) {
  const body = s.bodyEl;
  while (body.firstChild) body.removeChild(body.firstChild);
  s.rows = new Map();
  const items = s.data.items;
  const left = items.filter((it) => effective(s, it.key) === null).length;
  const it = currentFocusItem(s);
  body.appendChild(el("div", "rv-meta", fmt(left + (s.data.undecided_beyond || 0)) + " undecided of " + fmt(s.data.matching) + " matching"));
  if (!it) {
    const done = el("div", "rv-done", s.data.undecided_beyond ? "Loading more…" :
      "Nothing left to review under these filters." + (s.skipped.size ? " (Some were skipped.)" : ""));
    body.appendChild(done);
    if (s.skipped.size) {
      const again = el("button", "rv-btn", "Review the skipped ones");
      again.setAttribute("type", "button");
      again.addEventListener("click", () => { s.skipped.clear(); drawFocus(s); });
      body.appendChild(again);
    }
    return;
  }
  const box = el("section", "rv-group rv-one");
  box.appendChild(el("div", "rv-meta", "original " + it.parent + (it.tags ? " · " + it.tags : "")));
  const side = s.data.layout === "side";
  const row = variantRow(s, it, it.original, side);
  if (!side) {
    const orig = el("div", "rv-original");
    orig.appendChild(textWithSpans(it.original, it.ospans));
    box.appendChild(orig);
  }
  row.classList.add("rv-focus");
  const skip = el("button", "rv-btn rv-skip", "Skip");
  skip.setAttribute("type", "button");
  skip.addEventListener("click", () => skipCurrent(s));
  row.querySelector(".rv-buttons").appendChild(skip);
  box.appendChild(row);
  body.appendChild(box);
}

function skipCurrent(s) {
  if (!s.focusKey) return;
  s.skipped.add(s.focusKey);
  s.lastDecided = s.focusKey;
  drawFocus(s);
}

// --- keys ------------------------------------------------------------------------------

function onKey(ev) {
  const s = window.__augmentReviewActive;
  if (!s || !s.root || !s.root.isConnected) return;
  const t = ev.target;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
  const k = ev.key;
  const focusMode = s.data && s.data.mode === "focus";
  let handled = true;
  if (k === "?") { s.help = !s.help; refreshRoot(s); }
  else if (s.turning && Date.now() - s.turning.at < 5000 && (k === "j" || k === "k" || k === "ArrowDown" || k === "ArrowUp")) { /* a page is on its way */ }
  else if (ev.repeat) { handled = false; }
  else if (k === "j" || k === "ArrowDown") { if (focusMode) handled = false; else moveFocus(s, 1, true); }
  else if (k === "k" || k === "ArrowUp") { if (focusMode) handled = false; else moveFocus(s, -1, true); }
  else if (k === "a" || k === "r") {
    if (!s.focusKey && !focusMode) moveFocus(s, 0);
    const key = s.focusKey;
    if (key) {
      decide(s, key, k === "a" ? "accepted" : "rejected");
      if (focusMode) drawFocus(s); else moveFocus(s, 1);
    }
  }
  else if (k === "s" && focusMode) { skipCurrent(s); }
  else if (k === "u") { undo(s); }
  else handled = false;
  if (handled) { ev.preventDefault(); ev.stopImmediatePropagation(); }
}

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  if (!data || !data.hash) return;
  const all = (window.__augmentReview = window.__augmentReview || {});
  let s = all[data.hash];
  if (!s) s = all[data.hash] = makeState(data.hash);
  s.setTrigger = setTriggerValue;
  window.__augmentReviewActive = s;
  if (!window.__augmentReviewKeys) {
    window.__augmentReviewKeys = true;
    // Capture phase on window: before Streamlit's own shortcuts ("r" reruns the whole page,
    // which would throw away the list's fragment and a batch on its way).
    window.addEventListener("keydown", onKey, true);
  }
  if (!s.root || s.root.parentNode !== parentElement) {
    const root = el("div", "rv-root");
    s.statusEl = el("div", "rv-status");
    s.bodyEl = el("div", "rv-body");
    root.appendChild(s.statusEl);
    root.appendChild(s.bodyEl);
    parentElement.appendChild(root);
    s.root = root;
    s.sig = null;
  }
  s.data = data;
  const lost = s.inflight ? s.inflight.ids.slice() : null;
  applyAcks(s, data.acks);
  if (lost && s.inflight && s.inflight.ids.every((id, i) => id === lost[i])) {
    // A run that began after the batch was sent (batches go only while the page is idle) and
    // does not answer it: the trigger was dropped (Streamlit re-ran the whole page instead,
    // as it does when a fragment it ran is gone). Send it again: entries are idempotent.
    window.clearTimeout(s.inflight.timer);
    s.inflight = null;
    s.resends = (s.resends || 0) + 1;
    s.queue.forEach((e) => { if (lost.includes(e.id)) e.status = "queued"; });
    if (s.resends > 5) { s.resends = 0; scheduleRetry(s); }
  } else if (!s.inflight) s.resends = 0;
  if (s.sig !== data.sig) {
    s.sig = data.sig;
    if (data.mode === "focus") drawFocus(s); else drawList(s);
    if (data.focus) s.focusKey = data.focus;
    if (s.turning && data.mode === "list" && data.page === s.turning.to) {
      const keys = Array.from(s.rows.keys());
      s.focusKey = s.turning.focus === "last" ? keys[keys.length - 1] : keys[0];
      s.turning = null;
      const row = s.rows.get(s.focusKey);
      if (row && row.el.scrollIntoView) row.el.scrollIntoView({ block: "nearest" });
    }
  }
  refresh(s);
  s.root.setAttribute("data-mode", data.mode);
  s.root.setAttribute("data-ready", String(data.epoch));
  if (s.queue.some((e) => e.status === "queued") && !s.retryTimer) flush(s);
  // Nothing to clean up: the key handler acts only while this root is in the page, and the
  // queue must outlive a remount.
  return undefined;
}
