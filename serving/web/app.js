// evorec web page: plain JS, no build step, no network beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { user: null, session: null, busy: false, chartUrl: null, datasetUsers: [] };
const RECENT_KEY = "evorec.recentUsers";
const KEY_KEY = "evorec.apiKey";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function errorText(resp) {
  try {
    const body = await resp.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) { /* not JSON */ }
  return resp.status + " " + resp.statusText;
}

// ---------------------------------------------------------------- health and users

async function checkHealth() {
  const badge = $("health");
  try {
    const resp = await fetch("/healthz");
    const body = await resp.json();
    const llm = body.components && body.components.llm;
    const configured = llm && !(llm.info && llm.info.configured === false);
    const models = configured && llm.info && llm.info.models ? llm.info.models.join(", ") : "";
    badge.textContent = body.status + (!llm ? "" : !configured ? " · no LLM: template answers"
      : llm.ok ? " · LLM " + (models || "on") : " · LLM down: template answers");
    badge.className = "badge " + body.status;
    badge.title = Object.entries(body.components || {})
      .map(([name, c]) => name + ": " + (c.ok ? "ok" : "down") + (c.detail ? " – " + c.detail : "")).join("\n");
    if (body.auth === "api_keys") $("key-row").classList.remove("hidden");
  } catch (_) {
    badge.textContent = "server unreachable";
    badge.className = "badge unavailable";
  }
}

function recentUsers() {
  try { return JSON.parse(localStorage.getItem(RECENT_KEY) || "[]"); } catch (_) { return []; }
}

function rememberUser(uid) {
  const list = [uid].concat(recentUsers().filter((u) => u !== uid)).slice(0, 12);
  localStorage.setItem(RECENT_KEY, JSON.stringify(list));
  fillSuggestions(list);
}

async function loadUserList() {
  try {
    const resp = await fetch("/v1/users?limit=30", { headers: headers() });
    if (!resp.ok) return;
    state.datasetUsers = (await resp.json()).users || [];
    fillSuggestions(recentUsers());
    if (!$("user-id").placeholder.includes("e.g.") && state.datasetUsers.length) {
      $("user-id").placeholder = "type or pick a user id, e.g. " + state.datasetUsers[0];
    }
  } catch (_) { /* the picker still takes typed ids */ }
}

function fillSuggestions(list) {
  const dl = $("user-suggestions");
  dl.replaceChildren();
  const seen = new Set();
  for (const u of list.concat(state.datasetUsers || [])) {
    if (seen.has(u)) continue;
    seen.add(u);
    const o = document.createElement("option");
    o.value = u;
    dl.appendChild(o);
  }
}

function setSession(id) {
  state.session = id;
  $("session-id").textContent = id || "new";
}

function selectUser(uid) {
  uid = uid.trim();
  if (!uid) return;
  if (uid !== state.user) {
    state.user = uid;
    setSession(null);
    $("chat-log").replaceChildren();
    $("cards").replaceChildren();
    $("answer-flags").replaceChildren();
    $("interest-summary").textContent = "";
    $("answer-title").textContent = "Recommendations for user " + uid;
  }
  rememberUser(uid);
  loadChart();
}

async function loadChart() {
  if (!state.user) return;
  const img = $("interest-chart");
  const cap = $("chart-caption");
  if (img.hidden) cap.textContent = "loading chart…";
  try {
    const resp = await fetch("/v1/users/" + encodeURIComponent(state.user) + "/interests.png", { headers: headers() });
    if (!resp.ok) throw new Error(await errorText(resp));
    const blob = await resp.blob();
    if (state.chartUrl) URL.revokeObjectURL(state.chartUrl);
    state.chartUrl = URL.createObjectURL(blob);
    img.src = state.chartUrl;
    img.hidden = false;
    cap.textContent = "Category shares over time, with the forecast and its interval.";
  } catch (e) {
    img.hidden = true;
    cap.textContent = "No chart: " + e.message;
  }
}

// ---------------------------------------------------------------- chat (SSE over fetch)

function addMessage(role, text) {
  const m = el("div", "msg " + role, text);
  $("chat-log").appendChild(m);
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
  return m;
}

function firstString(obj, keys) {
  for (const k of keys) if (obj && typeof obj[k] === "string") return obj[k];
  return null;
}

function answerOf(payload) {
  if (!payload) return null;
  for (const k of ["answer", "recommendations", "data", "final"]) {
    if (payload[k] && Array.isArray(payload[k].items)) return payload[k];
  }
  return Array.isArray(payload.items) ? payload : null;
}

async function* sseEvents(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (!data.length) continue;
      let payload;
      try { payload = JSON.parse(data.join("\n")); } catch (_) { payload = data.join("\n"); }
      yield { event, payload };
    }
  }
}

async function sendChat(text) {
  if (state.busy) return;
  if (!state.user) selectUser($("user-id").value);
  if (!state.user) { $("user-id").focus(); return; }
  state.busy = true;
  $("chat-send").disabled = true;
  addMessage("user", text);
  const bubble = addMessage("assistant", "");
  const body = el("div", "body", "");
  const tools = el("div", "tools");
  bubble.append(body, tools);
  const toolChips = {};
  let streamed = "";
  try {
    const resp = await fetch("/v1/chat", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", "Accept": "text/event-stream" }),
      body: JSON.stringify({ user_id: state.user, message: text, session_id: state.session }),
    });
    if (!resp.ok) throw new Error(await errorText(resp));
    for await (const { event, payload } of sseEvents(resp)) {
      if (event === "session") {
        setSession(payload.session_id);
      } else if (event === "token") {
        streamed += firstString(payload, ["text", "token", "content", "delta"]) || "";
        body.textContent = streamed;
      } else if (event === "tool_call") {
        const name = firstString(payload, ["name", "tool"]) || "tool";
        const chip = el("span", "tool", "→ " + name);
        toolChips[name] = chip;
        tools.appendChild(chip);
      } else if (event === "tool_result") {
        const name = firstString(payload, ["name", "tool"]) || "tool";
        const chip = toolChips[name] || tools.appendChild(el("span", "tool", name));
        chip.textContent = "✓ " + name;
        chip.classList.add("done");
      } else if (event === "final") {
        const answer = answerOf(payload);
        if (answer) {  // the final message is authoritative (the validator may have replaced streamed text)
          body.textContent = answer.message || answer.interest_summary ||
            (answer.items.length ? "Here are " + answer.items.length + " picks →" : "No items match.");
          renderAnswer(answer);
        }
      } else if (event === "error") {
        throw new Error((payload.error && payload.error.message) || "the turn failed");
      }
      $("chat-log").scrollTop = $("chat-log").scrollHeight;
    }
    loadChart();
  } catch (e) {
    bubble.classList.add("error");
    body.textContent = "Error: " + e.message;
  } finally {
    state.busy = false;
    $("chat-send").disabled = false;
  }
}

// ---------------------------------------------------------------- answer cards

function renderAnswer(answer) {
  const flags = $("answer-flags");
  flags.replaceChildren();
  if (answer.degraded) {
    const f = el("span", "flag degraded", "degraded: no LLM");
    f.title = answer.degraded_reason || "answered by the plan-first executor";
    flags.appendChild(f);
  } else if (answer.llm_calls) {
    flags.appendChild(el("span", "flag llm", "written by the LLM, checked against the evidence"));
  }
  if (answer.cold_start) flags.appendChild(el("span", "flag cold", "cold start"));
  const total = answer.timings_ms && (answer.timings_ms.total || answer.timings_ms.total_ms);
  if (total) flags.appendChild(el("span", "flag", Math.round(total) + " ms"));
  $("interest-summary").textContent = answer.interest_summary || "";

  const cards = $("cards");
  cards.replaceChildren();
  if (!answer.items.length) {
    cards.appendChild(el("p", "empty", answer.shortfall || "No items match these constraints."));
    return;
  }
  for (const item of answer.items) cards.appendChild(card(item));
}

function card(item) {
  const c = el("article", "card");
  c.dataset.itemId = item.item_id;
  const head = el("div", "head");
  head.append(el("span", "rank", item.rank + "."), el("span", "title", item.title));
  // what a person can use: year and categories (scores, sources and ids stay in the JSON)
  const meta = [item.year, (item.categories || []).join(", ")].filter(Boolean).join(" · ");
  const r = el("div", "rationale");
  r.append(el("span", "", item.rationale.text));
  const evidence = {};
  for (const ev of item.evidence || []) evidence[ev.id] = ev;
  const chips = el("div", "chips");
  const detail = el("div", "evidence-text hidden");
  const ids = item.rationale.evidence_ids.length ? item.rationale.evidence_ids : Object.keys(evidence);
  for (const id of ids) {
    const chip = el("button", "chip", evidenceLabel(id));
    chip.type = "button";
    chip.title = evidence[id] ? evidence[id].text : id;
    chip.addEventListener("click", () => {
      const open = !chip.classList.contains("open");
      chips.querySelectorAll(".chip").forEach((x) => x.classList.remove("open"));
      if (open) chip.classList.add("open");
      detail.textContent = evidence[id] ? evidence[id].text : "(no evidence record for " + id + ")";
      detail.classList.toggle("hidden", !open);
    });
    chips.appendChild(chip);
  }
  c.append(head, el("div", "meta", meta), r, chips, detail);
  return c;
}

// A chip names what kind of fact it opens, in plain words; the fact itself is the evidence text.
const EVIDENCE_LABELS = {
  similar: "like one you rated", cooc: "others also chose it", forecast: "where you are heading",
  trend: "your trend", trending: "catching on", popular: "popular", history: "your history",
  cold_start: "you are new here", item: "about it", semantic: "matches your words",
};

function evidenceLabel(id) {
  const kind = id.replace(/^ev:/, "").split(":")[0];
  if (id === "ev:forecast:mix") return "your mix ahead";
  if (kind === "trend") return "your " + id.split(":").slice(2).join(":") + " trend";
  return EVIDENCE_LABELS[kind] || "why";
}

// ---------------------------------------------------------------- wiring

document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = localStorage.getItem(KEY_KEY) || "";
  $("api-key").addEventListener("change", () => {
    localStorage.setItem(KEY_KEY, $("api-key").value.trim());
    loadUserList();
  });
  fillSuggestions(recentUsers());
  $("user-form").addEventListener("submit", (e) => { e.preventDefault(); selectUser($("user-id").value); });
  $("new-session").addEventListener("click", () => { setSession(null); $("chat-log").replaceChildren(); });
  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text) return;
    $("chat-input").value = "";
    sendChat(text);
  });
  $("chat-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("chat-form").requestSubmit(); }
  });
  const fromUrl = new URLSearchParams(location.search).get("user");
  if (fromUrl) { $("user-id").value = fromUrl; selectUser(fromUrl); }
  checkHealth();
  loadUserList();
});
