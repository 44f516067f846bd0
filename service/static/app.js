// The analyst workspace: chat with cited answers, the paragraph panel, the report browser.
// Plain JavaScript, no build step; talks to the JSON API of this same server.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);

  /** Create an element: el("div", {class: "x", onclick: f}, child, "text", …). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const enc = encodeURIComponent;
  const permalink = (rid, pid) => `/reports/${enc(rid)}/paragraphs/${enc(pid)}`;
  const reportHash = (rid, pid) => `#/reports/${enc(rid)}` + (pid ? `/${enc(pid)}` : "");

  class ApiError extends Error {}

  /** GET/POST JSON; a non-2xx answer throws with the API's error.message. */
  async function api(path, options = {}) {
    let response;
    try {
      response = await fetch(path, {
        ...options,
        headers: { Accept: "application/json", ...(options.headers || {}) },
      });
    } catch (err) {
      throw new ApiError(`无法连接服务：${err.message}`);
    }
    return readJson(response);
  }

  async function readJson(response) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error && body.error.message;
      throw new ApiError(message || `HTTP ${response.status} ${response.statusText}`);
    }
    return body;
  }

  /** Server-sent events from a fetch() body: yields {event, data} with data JSON-decoded. */
  async function* sseEvents(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      buffer = buffer.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
        if (!data.length) continue;
        const raw = data.join("\n");
        let parsed = raw;
        try {
          parsed = JSON.parse(raw);
        } catch {
          parsed = raw;
        }
        yield { event, data: parsed };
      }
      if (done) return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reports (cached) and the filters
  // ---------------------------------------------------------------------------------------------

  const cache = { reports: null, details: new Map() };

  async function reports() {
    if (!cache.reports) cache.reports = api("/reports").catch((err) => {
      cache.reports = null;
      throw err;
    });
    return cache.reports;
  }

  async function reportDetail(rid) {
    if (!cache.details.has(rid)) {
      cache.details.set(rid, api(`/reports/${enc(rid)}`).catch((err) => {
        cache.details.delete(rid);
        throw err;
      }));
    }
    return cache.details.get(rid);
  }

  const paragraphsOf = (detail) => detail.sections.flatMap((s) => s.paragraphs);

  async function loadFilters() {
    const regionSel = $("#filter-region");
    const yearSel = $("#filter-year");
    try {
      const list = await reports();
      const regions = [...new Set(list.map((r) => r.region).filter(Boolean))].sort((a, b) => a.localeCompare(b, "zh"));
      const years = [...new Set(list.map((r) => r.year).filter(Boolean))].sort((a, b) => b - a);
      for (const r of regions) regionSel.append(el("option", { value: r }, r));
      for (const y of years) yearSel.append(el("option", { value: y }, `${y}年`));
      showFilterStatus();
    } catch (err) {
      $("#filter-status").replaceChildren(el("span", { class: "error" }, `无法读取报告列表：${err.message}`));
    }
  }

  function currentFilters() {
    const region = $("#filter-region").value;
    const year = $("#filter-year").value;
    const filters = {};
    if (region) filters.region = region;
    if (year) filters.year = Number(year);
    return filters;
  }

  function showFilterStatus() {
    const f = currentFilters();
    const parts = [f.region, f.year && `${f.year}年`].filter(Boolean);
    $("#filter-status").textContent = parts.length ? `只在 ${parts.join(" · ")} 的报告中检索` : "";
  }

  // ---------------------------------------------------------------------------------------------
  // Chat
  // ---------------------------------------------------------------------------------------------

  const conversation = []; // [{role, content}] sent whole to POST /chat
  let busy = false;

  function scrollToEnd() {
    const box = $("#messages");
    box.scrollTop = box.scrollHeight;
  }

  function addUserMessage(text) {
    $("#welcome")?.remove();
    $("#messages").append(el("div", { class: "message user" }, el("div", { class: "bubble" }, text)));
  }

  function addAssistantMessage() {
    const standalone = el("div", { class: "standalone-question", hidden: true });
    const answer = el("div", { class: "answer streaming" }, el("span", { class: "muted" }, "正在检索报告…"));
    const extra = el("div", { class: "answer-extra" });
    const root = el("div", { class: "message assistant", dataset: { state: "pending" } }, standalone, answer, extra);
    $("#messages").append(root);
    scrollToEnd();
    return { root, standalone, answer, extra };
  }

  /** The answer text with each [n] turned into a clickable citation marker. */
  function renderAnswerText(text, citations) {
    const byN = new Map(citations.map((c) => [c.n, c]));
    const out = [];
    let last = 0;
    for (const m of text.matchAll(/\[(\d+)\]/g)) {
      out.push(text.slice(last, m.index));
      const c = byN.get(Number(m[1]));
      out.push(c ? citationMarker(c) : m[0]);
      last = m.index + m[0].length;
    }
    out.push(text.slice(last));
    return out;
  }

  function citationMarker(c) {
    return el(
      "button",
      {
        type: "button",
        class: "citation-marker",
        title: c.reference,
        dataset: { n: c.n, reportId: c.report_id, paragraphId: c.paragraph_id, region: c.region || "" },
        onclick: (ev) => openCitation(c, ev.currentTarget),
      },
      `[${c.n}]`,
    );
  }

  function renderAnswer(turn, answer) {
    const citations = answer.citations || [];
    turn.answer.classList.remove("streaming");
    turn.root.dataset.state = "done";
    turn.root.dataset.answerable = String(Boolean(answer.answerable));
    if (answer.parts && answer.parts.length) {
      if (!answer.answerable) turn.root.classList.add("unanswerable");
      turn.answer.classList.add("compound");
      turn.answer.replaceChildren(...answerParts(answer.parts, citations));
    } else if (!answer.answerable) {
      turn.root.classList.add("unanswerable");
      turn.answer.replaceChildren(...refusal(answer.answer));
    } else {
      turn.answer.replaceChildren(...renderAnswerText(answer.answer, citations));
    }
    const extra = [];
    if (citations.length) {
      extra.push(
        el(
          "ol",
          { class: "citation-list" },
          citations.map((c) =>
            el(
              "li",
              { value: c.n },
              el(
                "a",
                {
                  href: permalink(c.report_id, c.paragraph_id),
                  class: "citation-ref",
                  dataset: { n: c.n },
                  onclick: (ev) => {
                    ev.preventDefault();
                    openCitation(c, turn.root.querySelector(`.citation-marker[data-n="${c.n}"]`));
                  },
                },
                c.reference,
              ),
            ),
          ),
        ),
      );
    }
    const nearest = (!answer.answerable && answer.checks && answer.checks.candidates) || [];
    if (nearest.length) extra.push(nearestPassages(nearest));
    const notes = (answer.notes || []).filter((n) => !turn.answer.textContent.includes(n));
    if (notes.length) extra.push(el("div", { class: "notes muted" }, notes.join("；")));
    if (answer.mode && answer.mode !== "extractive") extra.push(el("div", { class: "mode muted" }, `模式：${answer.mode}`));
    turn.extra.replaceChildren(...extra);
  }

  /** A refusal as the page marks one: the label, then the answer's own words (which say why). */
  const refusal = (text) => [
    el("div", { class: "unanswerable-label" }, "报告中没有相关内容"),
    el("div", { class: "unanswerable-text" }, text),
  ];

  /** A compound question's answer (``parts``): each part under its own small heading, as asked, with its
   *  lines and citation markers (numbered across the parts, as in the citation list); a part the reports
   *  do not answer is marked as a refusal is, and a part past the cap on parts as not answered. The
   *  lines are each part's own (``part.answer``): the combined text is never cut at its headings. */
  function answerParts(parts, citations) {
    const answeredCount = parts.filter((p) => p.answered !== false).length;
    return parts.map((p, i) => {
      const left = p.answered === false;
      const state = left ? "left" : p.answerable ? "answered" : "unanswerable";
      let body;
      if (left) {
        body = [
          el("div", { class: "unanswerable-label" }, "未回答"),
          el("div", { class: "unanswerable-text" }, `一次只回答前${answeredCount}个部分，请单独提问这一部分。`),
        ];
      } else if (p.answerable) {
        body = renderAnswerText(p.answer, citations);
      } else {
        body = refusal(p.answer);
      }
      return el(
        "section",
        { class: `answer-part ${state}`, dataset: { part: i + 1, state } },
        el(
          "h4",
          { class: "part-heading" },
          el("span", { class: "part-number" }, `（${i + 1}）`),
          el("span", { class: "part-asked" }, p.asked),
        ),
        p.question && p.question !== p.asked ? el("div", { class: "part-question muted" }, `按整个问题理解为：${p.question}`) : null,
        el("div", { class: "part-body" }, body),
      );
    });
  }

  /** Under a refusal: the sentences that came nearest, each with the check that turned it down. They
   *  are no answer, and the page says so before a reader sees them. */
  function nearestPassages(candidates) {
    return el(
      "section",
      { class: "nearest", "aria-label": "最接近的段落（不是答案）" },
      el("div", { class: "nearest-label" }, "最接近的段落 · 不是答案"),
      el("p", { class: "nearest-hint muted" }, "以下原句与问题最接近，但未通过回答的检查，不能当作答案："),
      el(
        "ol",
        { class: "nearest-list" },
        candidates.map((c) => {
          const where = `${c.region || c.title} · ${c.paragraph_id}`;
          const asQuote = {
            report_id: c.report_id,
            paragraph_id: c.paragraph_id,
            start: c.start,
            end: c.end,
            quote: c.sentence,
            reference: `《${c.title}》${c.paragraph_id}（最接近的段落，不是答案）`,
          };
          return el(
            "li",
            { class: "nearest-item", dataset: { check: c.check, reportId: c.report_id, paragraphId: c.paragraph_id } },
            el("blockquote", { class: "nearest-sentence" }, c.sentence),
            el(
              "div",
              { class: "nearest-meta muted" },
              el(
                "a",
                {
                  href: permalink(c.report_id, c.paragraph_id),
                  class: "nearest-ref",
                  onclick: (ev) => {
                    ev.preventDefault();
                    showParagraph(c.report_id, c.paragraph_id, asQuote);
                  },
                },
                where,
              ),
              el("span", { class: "nearest-check", title: c.check }, `未采用：${c.reason}`),
            ),
          );
        }),
      ),
    );
  }

  function renderError(turn, message) {
    turn.answer.classList.remove("streaming");
    turn.root.dataset.state = "error";
    turn.root.classList.add("failed");
    turn.answer.replaceChildren(el("div", { class: "error", role: "alert" }, el("strong", {}, "出错了："), message));
  }

  async function ask(text) {
    if (busy) return;
    busy = true;
    $("#ask").disabled = true;
    conversation.push({ role: "user", content: text });
    addUserMessage(text);
    const turn = addAssistantMessage();
    try {
      let response;
      try {
        response = await fetch("/chat", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
          body: JSON.stringify({ messages: conversation, filters: currentFilters(), stream: true }),
        });
      } catch (err) {
        throw new ApiError(`无法连接服务：${err.message}`);
      }
      if (!response.ok || !(response.headers.get("content-type") || "").includes("text/event-stream")) {
        await readJson(response); // throws with error.message
        throw new ApiError(`意外的响应：HTTP ${response.status}`);
      }
      let streamed = "";
      let final = null;
      for await (const { event, data } of sseEvents(response.body)) {
        if (event === "question") {
          const q = data.standalone_question;
          if (q && q !== text) {
            turn.standalone.hidden = false;
            turn.standalone.textContent = `按上下文理解为：${q}`;
          }
        } else if (event === "token") {
          streamed += data.text;
          turn.answer.textContent = streamed;
          scrollToEnd();
        } else if (event === "answer") {
          final = data; // authoritative: replaces whatever was streamed
          renderAnswer(turn, final);
        } else if (event === "error") {
          throw new ApiError((data && data.error && data.error.message) || String(data));
        } else if (event === "done") {
          break;
        }
      }
      if (!final) throw new ApiError("回答不完整：连接在回答结束前中断");
      conversation.push({ role: "assistant", content: final.answer });
    } catch (err) {
      conversation.pop(); // the failed question does not stay in the conversation
      renderError(turn, err.message);
    } finally {
      busy = false;
      $("#ask").disabled = false;
      scrollToEnd();
    }
  }

  function newConversation() {
    conversation.length = 0;
    $("#messages").replaceChildren();
    closePanel();
    $("#question").focus();
  }

  // ---------------------------------------------------------------------------------------------
  // The paragraph panel
  // ---------------------------------------------------------------------------------------------

  let panelRequest = 0;

  function openPanel() {
    $("#paragraph-panel").hidden = false;
    document.body.classList.add("panel-open");
  }

  function closePanel() {
    $("#paragraph-panel").hidden = true;
    document.body.classList.remove("panel-open");
    for (const m of document.querySelectorAll(".citation-marker.active")) m.classList.remove("active");
  }

  /** [start, end) of the quote inside the paragraph, in code points; null when it is not there. */
  function quoteRange(chars, paraStart, quote) {
    let s = quote.start - paraStart;
    let e = quote.end - paraStart;
    if (s < 0 || e > chars.length || s >= e || chars.slice(s, e).join("") !== quote.text) {
      const i = chars.join("").indexOf(quote.text);
      if (i < 0 || !quote.text) return null;
      s = Array.from(chars.join("").slice(0, i)).length;
      e = s + Array.from(quote.text).length;
    }
    return [s, e];
  }

  function paragraphText(para, quote) {
    const chars = Array.from(para.text); // code points, like the server's offsets
    const range = quote ? quoteRange(chars, para.start, quote) : null;
    if (!range) return [para.text];
    return [
      chars.slice(0, range[0]).join(""),
      el("mark", { class: "quote-highlight", id: "quote-highlight" }, chars.slice(range[0], range[1]).join("")),
      chars.slice(range[1]).join(""),
    ];
  }

  // The metadata fields a person can correct (PATCH /reports/{id}), with their labels.
  const META_FIELDS = [
    ["title", "标题"],
    ["region", "地区"],
    ["department", "部门"],
    ["year", "年度"],
    ["issuer", "发布机构"],
    ["published", "发布日期"],
    ["doc_number", "文号"],
    ["url", "网址"],
  ];
  const UNSURE_HINT = "读取时把握不大（或未找到），请核对";
  const urlOf = (report) => (report.provenance && report.provenance.url && report.provenance.url.value) || "";

  /** A value marked (a "?" after it, by CSS) when the report lists its field as unsure. */
  function marked(report, field, value) {
    const unsure = (report.unsure || []).includes(field);
    return unsure ? el("span", { class: "unsure", dataset: { field }, title: UNSURE_HINT }, value || "—") : value;
  }

  function reportMeta(report) {
    const url = urlOf(report);
    const rows = [
      ["标题", "title", report.title],
      ["地区", "region", (report.region_path && report.region_path.length ? report.region_path.join(" / ") : report.region)],
      ["部门", "department", report.department],
      ["年度", "year", report.year && `${report.year}年`],
      ["发布机构", "issuer", report.issuer],
      ["发布日期", "published", report.published],
      ["文号", "doc_number", report.doc_number],
      ["网址", "url", url && el("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, url)],
      ["来源文件", "source", report.source],
    ].filter(([, f, v]) => v || (report.unsure || []).includes(f));
    return el(
      "dl",
      { class: "report-meta" },
      rows.map(([k, f, v]) => {
        const by = report.provenance && report.provenance[f] && report.provenance[f].source;
        return [
          el("dt", {}, k),
          el("dd", { dataset: { field: k, key: f, source: by || "" } }, marked(report, f, v), by === "user" ? el("span", { class: "muted corrected" }, "（已人工更正）") : null),
        ];
      }),
    );
  }

  // The API key for writes, kept for this browser tab only.
  const KEY_STORE = "rag-api-key";
  const apiKey = () => sessionStorage.getItem(KEY_STORE) || "";

  /** PATCH /reports/{id} with ``body`` (null undoes a field's correction); the caches are dropped. */
  async function patchReport(rid, body, key) {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    const result = await api(`/reports/${enc(rid)}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-API-Key": key || apiKey() },
      body: JSON.stringify(body),
    });
    cache.reports = null;
    cache.details.clear();
    return result;
  }

  /** The correction form under a report's metadata: changed fields are sent, corrected ones can be undone. */
  function correctionForm(detail) {
    const rid = detail.report_id;
    const current = {
      title: detail.title || "",
      region: detail.region_path && detail.region_path.length > 1 ? detail.region_path.join("/") : detail.region || "",
      department: detail.department || "",
      year: detail.year ? String(detail.year) : "",
      issuer: detail.issuer || "",
      published: detail.published || "",
      doc_number: detail.doc_number || "",
      url: urlOf(detail),
    };
    const status = el("div", { class: "correction-status", role: "status" });
    const inputs = {};
    const corrected = Object.keys(detail.read_values || {});
    const rows = META_FIELDS.map(([f, label]) => {
      inputs[f] = el("input", { name: f, value: current[f], dataset: { field: f } });
      const undo = corrected.includes(f)
        ? el(
            "button",
            {
              type: "button",
              class: "secondary small undo",
              dataset: { field: f },
              title: `恢复为原读取值：${detail.read_values[f].value || "（空）"}`,
              onclick: () => send({ [f]: null }),
            },
            "恢复原值",
          )
        : null;
      return el("label", { class: (detail.unsure || []).includes(f) ? "unsure-field" : "" }, label, inputs[f], undo);
    });
    const key = el("input", { name: "api-key", type: "password", value: apiKey(), placeholder: "写入密钥（X-API-Key）", autocomplete: "off" });

    async function send(body) {
      status.replaceChildren(el("span", { class: "muted" }, "正在保存…"));
      try {
        await patchReport(rid, body, key.value.trim());
      } catch (err) {
        status.replaceChildren(el("div", { class: "error", role: "alert" }, err.message));
        return;
      }
      await renderReport(rid);
      const box = $("#correction");
      if (box) box.open = true;
      $("#correction-status")?.replaceChildren(el("span", { class: "ok" }, "已保存"));
    }

    const form = el(
      "form",
      {
        id: "correction-form",
        autocomplete: "off",
        onsubmit: (ev) => {
          ev.preventDefault();
          const body = {};
          for (const [f] of META_FIELDS) {
            const v = inputs[f].value.trim();
            if (v && v !== current[f]) body[f] = f === "year" && /^\d+$/.test(v) ? Number(v) : v;
          }
          if (!Object.keys(body).length) {
            status.replaceChildren(el("span", { class: "muted" }, "没有改动"));
            return;
          }
          send(body);
        },
      },
      rows,
      el("label", {}, "密钥", key),
      el("button", { type: "submit", id: "correction-save" }, "保存更正"),
      status,
    );
    status.id = "correction-status";
    return el(
      "details",
      { id: "correction", open: (detail.unsure || []).length > 0 },
      el("summary", {}, "更正元数据", (detail.unsure || []).length ? el("span", { class: "unsure-count" }, `（${detail.unsure.length} 项待核对）`) : null),
      el("p", { class: "muted" }, "更正立即生效（无需重新建立索引），重新导入同一文件时保留；“恢复原值”回到从原文读取的值。需要写入密钥。"),
      form,
    );
  }

  /** Show a paragraph in the panel; with ``citation``, its quote is highlighted. */
  async function showParagraph(rid, pid, citation = null) {
    const ticket = ++panelRequest;
    const body = $("#panel-body");
    openPanel();
    body.replaceChildren(el("p", { class: "muted" }, "正在读取段落…"));
    let para;
    try {
      para = await api(permalink(rid, pid));
    } catch (err) {
      if (ticket === panelRequest) body.replaceChildren(el("div", { class: "error", role: "alert" }, err.message));
      return;
    }
    if (ticket !== panelRequest) return;
    const quote = citation ? { start: citation.start, end: citation.end, text: citation.quote } : null;
    const nav = (p, label) =>
      p
        ? el("button", { type: "button", class: "secondary", onclick: () => showParagraph(rid, p.paragraph_id) }, label)
        : el("button", { type: "button", class: "secondary", disabled: true }, label);
    body.replaceChildren(
      el("div", { class: "panel-reference" }, citation ? citation.reference : para.reference),
      el("div", { class: "section-path" }, para.section_path.length ? para.section_path.join(" › ") : "（正文开头，无小标题）"),
      el("blockquote", { class: "paragraph-text", dataset: { paragraphId: para.paragraph_id } }, paragraphText(para, quote)),
      el(
        "div",
        { class: "panel-links" },
        el("a", { class: "permalink", href: permalink(rid, pid), title: "本段的永久链接" }, `¶ ${para.paragraph_id}`),
        el("a", { href: "/" + reportHash(rid, pid) }, "在报告中查看"),
        nav(para.previous, "‹ 上一段"),
        nav(para.next, "下一段 ›"),
      ),
      el("h4", {}, "报告信息"),
      reportMeta(para.report),
    );
    $("#quote-highlight")?.scrollIntoView({ block: "center" });
  }

  function openCitation(citation, marker) {
    for (const m of document.querySelectorAll(".citation-marker.active")) m.classList.remove("active");
    marker?.classList.add("active");
    showParagraph(citation.report_id, citation.paragraph_id, citation);
  }

  // ---------------------------------------------------------------------------------------------
  // Report browser
  // ---------------------------------------------------------------------------------------------

  async function renderReportList() {
    const box = $("#reports-body");
    box.replaceChildren(el("h2", {}, "已索引的报告"), el("p", { class: "muted" }, "正在读取…"));
    try {
      const list = await reports();
      const details = await Promise.all(list.map((r) => reportDetail(r.report_id)));
      const rows = list.map((r, i) =>
        el(
          "tr",
          { class: "report-row", dataset: { reportId: r.report_id } },
          el("td", { class: "region" }, marked(r, "region", r.region || "—")),
          el("td", { class: "year" }, marked(r, "year", r.year ? `${r.year}` : "—")),
          el(
            "td",
            { class: "title" },
            marked(r, "title", el("a", { class: "report-link", href: "/" + reportHash(r.report_id) }, r.title)),
            urlOf(r) ? [" ", el("a", { class: "source-url", href: urlOf(r), rel: "noopener noreferrer", target: "_blank" }, "原文")] : null,
          ),
          el("td", { class: "paragraph-count num" }, paragraphsOf(details[i]).length),
          el("td", { class: "published" }, r.published || "—"),
          el("td", { class: "issuer" }, r.issuer || "—"),
        ),
      );
      box.replaceChildren(
        el("h2", {}, `已索引的报告（${list.length}）`),
        list.some((r) => (r.unsure || []).length)
          ? el("p", { class: "muted", id: "unsure-note" }, "标 ? 的值读取时把握不大或未找到，请打开报告核对，有写入密钥时可以更正。")
          : null,
        list.length
          ? el(
              "table",
              { id: "report-table" },
              el("thead", {}, el("tr", {}, ["地区", "年度", "标题", "段落数", "发布日期", "发布机构"].map((h) => el("th", {}, h)))),
              el("tbody", {}, rows),
            )
          : el("p", { class: "muted" }, "索引中还没有报告。"),
      );
    } catch (err) {
      box.replaceChildren(el("h2", {}, "已索引的报告"), el("div", { class: "error", role: "alert" }, err.message));
    }
  }

  async function renderReport(rid, pid) {
    const box = $("#reports-body");
    box.replaceChildren(el("p", { class: "muted" }, "正在读取报告…"));
    let detail;
    try {
      detail = await reportDetail(rid);
    } catch (err) {
      box.replaceChildren(
        el("a", { href: "/#/reports", class: "back" }, "‹ 全部报告"),
        el("div", { class: "error", role: "alert" }, err.message),
      );
      return;
    }
    const sections = detail.sections.map((s) =>
      el(
        "section",
        { class: "report-section", dataset: { sectionRef: s.section_ref } },
        el("h3", { class: "section-heading" }, s.section_path.length ? s.section_path.join(" › ") : "（正文开头）"),
        s.paragraphs.map((p) =>
          el(
            "div",
            { class: "paragraph", id: `p-${p.paragraph_id}`, dataset: { paragraphId: p.paragraph_id } },
            el("p", { class: "paragraph-body" }, p.text),
            el(
              "div",
              { class: "paragraph-links" },
              el("a", { class: "permalink", href: permalink(rid, p.paragraph_id), title: "本段的永久链接" }, `¶ ${p.paragraph_id}`),
              el(
                "button",
                { type: "button", class: "secondary small", onclick: () => showParagraph(rid, p.paragraph_id) },
                "出处信息",
              ),
            ),
          ),
        ),
      ),
    );
    box.replaceChildren(
      el("a", { href: "/#/reports", class: "back" }, "‹ 全部报告"),
      el(
        "div",
        { id: "report-view", dataset: { reportId: rid } },
        el("h2", { class: "report-title" }, detail.title),
        reportMeta(detail),
        correctionForm(detail),
        sections,
      ),
    );
    if (pid) {
      const target = document.getElementById(`p-${pid}`);
      if (target) {
        target.classList.add("target");
        target.scrollIntoView({ block: "center" });
      }
      showParagraph(rid, pid);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Routing: #/ (chat), #/reports, #/reports/{id}, #/reports/{id}/{pid}; with no hash, the path
  // itself (/reports/{id}/paragraphs/{pid}: a permalink opened in a browser) picks the view.
  // ---------------------------------------------------------------------------------------------

  function currentRoute() {
    const dec = (s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    const hash = location.hash.replace(/^#\/?/, "");
    if (hash) {
      const parts = hash.split("/").filter(Boolean).map(dec);
      if (parts[0] === "reports") return { view: "reports", rid: parts[1], pid: parts[2] };
      return { view: "chat" };
    }
    const m = location.pathname.match(/^\/reports(?:\/([^/]+)(?:\/paragraphs\/([^/]+))?)?\/?$/);
    if (m) return { view: "reports", rid: m[1] && dec(m[1]), pid: m[2] && dec(m[2]) };
    return { view: "chat" };
  }

  function route() {
    const r = currentRoute();
    $("#chat-view").hidden = r.view !== "chat";
    $("#reports-view").hidden = r.view !== "reports";
    $("#nav-chat").classList.toggle("active", r.view === "chat");
    $("#nav-reports").classList.toggle("active", r.view === "reports");
    if (r.view === "reports") {
      if (!r.pid) closePanel();
      if (r.rid) renderReport(r.rid, r.pid);
      else renderReportList();
      document.title = "报告 · 法治政府建设报告分析工作台";
    } else {
      document.title = "法治政府建设报告 · 分析工作台";
      $("#question").focus();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#ask-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $("#question").value.trim();
      if (!text || busy) return;
      $("#question").value = "";
      ask(text);
    });
    $("#question").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        $("#ask-form").requestSubmit();
      }
    });
    $("#new-chat").addEventListener("click", newConversation);
    $("#panel-close").addEventListener("click", closePanel);
    $("#filter-region").addEventListener("change", showFilterStatus);
    $("#filter-year").addEventListener("change", showFilterStatus);
    window.addEventListener("hashchange", route);
    loadFilters();
    route();
  });
})();
