"""The audit report page: one self-contained HTML file (inline CSS, JS and SVG; no network).

The data is embedded as JSON; a small script draws the charts as inline SVG and fills the
tables with ``textContent`` only (log contents such as actors are untrusted: never HTML). The
page marks itself ``data-rendered="ok"`` when everything was drawn, and a ``window.onerror``
handler marks ``data-error`` and shows the message, so a headless browser can tell a page
that renders from one that does not. A Content-Security-Policy forbids every network load.

Kept in a Python module rather than a data file so that it ships with the package as is.
"""

from __future__ import annotations

import html
import json
from typing import Any

_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --bg:#f5f7fa; --warn:#b44d12;
        --bad:#c62828; --ok:#2e7d32; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 "Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:#102a43; color:#fff; padding:18px 28px; }
header h1 { margin:0 0 4px; font-size:22px; }
header p { margin:0; color:#bcccdc; }
main { padding:12px 28px 40px; max-width:1200px; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; margin:16px 0;
          padding:14px 18px; }
section h2 { margin:0 0 10px; font-size:17px; }
section p.note { color:var(--muted); margin:4px 0 10px; }
table { border-collapse:collapse; width:100%; margin:8px 0; }
th, td { border-bottom:1px solid var(--line); padding:4px 8px; text-align:left; }
th { background:#f0f4f8; font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
td.bad { color:var(--bad); font-weight:600; }
td.warn { color:var(--warn); }
svg.chart { width:100%; height:auto; display:block; margin:6px 0; }
svg.chart text { font-size:11px; fill:var(--muted); }
.legend span { display:inline-block; margin-right:14px; color:var(--muted); }
.legend i { display:inline-block; width:10px; height:10px; margin-right:4px; }
#report-error { color:var(--bad); white-space:pre-wrap; }
"""

_JS = r"""
window.onerror = function (message, source, line) {
  document.documentElement.setAttribute("data-error", String(message));
  var box = document.getElementById("report-error");
  if (box) { box.textContent = "报告渲染出错 render error: " + message + " (line " + line + ")"; }
  return false;
};
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#2f80ed", "#27ae60", "#eb5757", "#f2994a", "#9b51e0", "#56ccf2",
                "#6fcf97", "#bb6bd9", "#f2c94c", "#828282"];
  var data = JSON.parse(document.getElementById("report-data").textContent);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function chart(name, width, height) {
    return svgEl("svg", {"class": "chart", "data-chart": name,
                         "viewBox": "0 0 " + width + " " + height, "role": "img"});
  }
  function section(id) { return document.getElementById(id); }
  function fmtTime(ms) {
    if (!ms) { return ""; }
    var d = new Date(ms + 8 * 3600 * 1000);  // China Standard Time, whatever the browser's zone
    return d.toISOString().slice(0, 16).replace("T", " ");
  }
  function table(headers, rows, classes) {
    var t = el("table");
    var head = el("tr");
    headers.forEach(function (h) { head.appendChild(el("th", {}, h)); });
    t.appendChild(head);
    rows.forEach(function (row) {
      var tr = el("tr");
      row.forEach(function (cell, i) {
        var cls = (classes && classes[i]) || (typeof cell === "number" ? "num" : "");
        tr.appendChild(el("td", cls ? {"class": cls} : {}, cell));
      });
      t.appendChild(tr);
    });
    return t;
  }
  function legend(names) {
    var box = el("div", {"class": "legend"});
    names.forEach(function (n, i) {
      var s = el("span");
      s.appendChild(el("i", {"style": "background:" + COLORS[i % COLORS.length]}));
      s.appendChild(document.createTextNode(n));
      box.appendChild(s);
    });
    return box;
  }

  // Horizontal stacked bars: items [{label, values: [..]}], series names.
  function barChart(name, items, series) {
    var rowH = 26, left = 150, width = 900, top = 10;
    var height = top + Math.max(items.length, 1) * rowH + 24;
    var svg = chart(name, width, height);
    var max = 1;
    items.forEach(function (it) {
      var sum = it.values.reduce(function (a, b) { return a + b; }, 0);
      if (sum > max) { max = sum; }
    });
    var scale = (width - left - 60) / max;
    if (!items.length) {
      svg.appendChild(svgEl("text", {"x": left + 8, "y": top + 16}, "无记录 none"));
    }
    items.forEach(function (it, row) {
      var y = top + row * rowH, x = left;
      svg.appendChild(svgEl("text", {"x": left - 8, "y": y + 16, "text-anchor": "end"}, it.label));
      it.values.forEach(function (v, i) {
        if (v <= 0) { return; }
        var w = Math.max(v * scale, 1);
        var bar = svgEl("rect", {"class": "bar", "x": x, "y": y + 4, "width": w, "height": rowH - 8,
                                 "fill": COLORS[i % COLORS.length]});
        bar.appendChild(svgEl("title", {}, (series[i] || "") + " " + v));
        svg.appendChild(bar);
        x += w;
      });
      var total = it.values.reduce(function (a, b) { return a + b; }, 0);
      svg.appendChild(svgEl("text", {"x": x + 6, "y": y + 16}, total));
    });
    svg.appendChild(svgEl("line", {"x1": left, "y1": top, "x2": left,
                                   "y2": height - 20, "stroke": "#9aa5b1"}));
    return svg;
  }

  // Lines of (time, size) per origin, with witness cosignatures as dots.
  function timelineChart(name, series) {
    var width = 900, height = 320, left = 60, right = 20, top = 14, bottom = 40;
    var svg = chart(name, width, height);
    var xs = [], ys = [0];
    series.forEach(function (s) {
      s.points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); });
      s.witness.forEach(function (p) { xs.push(p[0]); });
    });
    if (!xs.length) { xs = [0, 1]; }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    if (x1 === x0) { x1 = x0 + 1; }
    var y1 = Math.max.apply(null, ys) || 1;
    function X(t) { return left + (t - x0) / (x1 - x0) * (width - left - right); }
    function Y(v) { return height - bottom - v / y1 * (height - top - bottom); }
    svg.appendChild(svgEl("line", {"x1": left, "y1": height - bottom, "x2": width - right,
                                   "y2": height - bottom, "stroke": "#9aa5b1"}));
    svg.appendChild(svgEl("line", {"x1": left, "y1": top, "x2": left, "y2": height - bottom,
                                   "stroke": "#9aa5b1"}));
    svg.appendChild(svgEl("text", {"x": left, "y": height - 12}, fmtTime(x0)));
    svg.appendChild(svgEl("text", {"x": width - right, "y": height - 12, "text-anchor": "end"},
                          fmtTime(x1)));
    svg.appendChild(svgEl("text", {"x": left - 6, "y": top + 8, "text-anchor": "end"}, y1));
    series.forEach(function (s, i) {
      var color = COLORS[i % COLORS.length];
      var d = s.points.map(function (p, j) {
        return (j ? "L" : "M") + X(p[0]).toFixed(1) + " " + Y(p[1]).toFixed(1);
      }).join(" ");
      if (d) {
        svg.appendChild(svgEl("path", {"class": "line", "d": d, "fill": "none",
                                       "stroke": color, "stroke-width": 2}));
      }
      s.witness.forEach(function (w) {
        var dot = svgEl("circle", {"class": "witness", "cx": X(w[0]), "cy": Y(w[1]), "r": 3.5,
                                   "fill": "#fff", "stroke": color, "stroke-width": 2});
        dot.appendChild(svgEl("title", {}, w[2] + " 见证 " + s.origin + " @" + w[1]));
        svg.appendChild(dot);
      });
    });
    return svg;
  }

  function renderOverview() {
    var box = section("sizes");
    var origins = data.origins;
    box.appendChild(barChart("sizes", origins.map(function (o) {
      return {label: o.origin, values: [o.size]};
    }), ["条目 entries"]));
    box.appendChild(table(
      ["来源 origin", "条目 entries", "最新条目时间 newest entry (CST)", "状态 state"],
      origins.map(function (o) {
        return [o.origin, o.size, fmtTime(o.newest_ms),
                o.frozen ? "已冻结 frozen: " + o.frozen_reason : "正常 ok"];
      }),
      [null, "num", null, null]));
    var kinds = {};
    origins.forEach(function (o) { Object.keys(o.kinds).forEach(function (k) { kinds[k] = 1; }); });
    var names = Object.keys(kinds).sort();
    if (names.length) {
      box.appendChild(el("h3", {}, "各类条目 entries by kind"));
      box.appendChild(legend(names));
      box.appendChild(barChart("kinds", origins.map(function (o) {
        return {label: o.origin, values: names.map(function (k) { return o.kinds[k] || 0; })};
      }), names));
    }
  }

  function renderTimeline() {
    var box = section("timeline");
    box.appendChild(legend(data.timeline.map(function (s) { return s.origin; })));
    box.appendChild(timelineChart("timeline", data.timeline));
    var rows = [];
    data.timeline.forEach(function (s) {
      var byWitness = {};
      s.witness.forEach(function (w) { byWitness[w[2]] = w; });
      Object.keys(byWitness).sort().forEach(function (name) {
        var w = byWitness[name];
        rows.push([s.origin, name, w[1], fmtTime(w[0])]);
      });
    });
    box.appendChild(table(["来源 origin", "见证节点 witness", "最近见证规模 latest cosigned size",
                           "见证时间 time (CST)"], rows, [null, null, "num", null]));
  }

  function renderLag() {
    var box = section("lag");
    var lag = data.lag;
    if (lag.note) { box.appendChild(el("p", {"class": "note"}, lag.note)); }
    var items = [];
    lag.rows.forEach(function (r) {
      lag.origins.forEach(function (o) {
        var v = r.cells[o];
        if (v !== null && v !== undefined) { items.push({label: r.node + " ← " + o, values: [v]}); }
      });
    });
    box.appendChild(barChart("lag", items, ["落后条目 entries behind"]));
    box.appendChild(table(["节点 node"].concat(lag.origins), lag.rows.map(function (r) {
      return [r.node].concat(lag.origins.map(function (o) {
        var v = r.cells[o];
        return v === null || v === undefined ? "—" : v;
      }));
    })));
  }

  function renderLookups() {
    var box = section("lookups");
    var l = data.lookups;
    box.appendChild(el("p", {"class": "note"}, l.note));
    var series = ["已答复 answered", "已拒绝 denied", "待答复 pending"];
    box.appendChild(legend(series));
    box.appendChild(barChart("lookups", l.rows.map(function (r) {
      return {label: r.requester, values: [r.answered, r.denied, r.pending]};
    }), series));
    box.appendChild(table(["请求方 requester", "请求 requested", "已答复 answered",
                           "已拒绝 denied", "待答复 pending"],
      l.rows.map(function (r) {
        return [r.requester, r.requested, r.answered, r.denied, r.pending];
      })));
  }

  function renderTasks() {
    var box = section("tasks");
    var t = data.tasks;
    box.appendChild(el("p", {"class": "note"}, t.note));
    var statuses = Object.keys(t.by_status).sort();
    box.appendChild(barChart("tasks", statuses.map(function (s) {
      return {label: s, values: [t.by_status[s]]};
    }), ["任务 tasks"]));
    box.appendChild(table(["任务 task", "状态 status", "规则 rule", "期限 due"],
      t.overdue.map(function (o) { return [o.task, o.status, o.rule, o.due_on]; }),
      [null, null, "warn", null]));
  }

  function renderRefusals() {
    var box = section("refusals");
    var r = data.refusals;
    if (r.note) { box.appendChild(el("p", {"class": "note"}, r.note)); }
    var reasons = Object.keys(r.by_reason).sort();
    box.appendChild(barChart("refusals", reasons.map(function (k) {
      return {label: k, values: [r.by_reason[k]]};
    }), ["拒绝 refusals"]));
    box.appendChild(table(["时间 time (CST)", "身份 identity", "方法 method", "原因 reason"],
      r.latest.map(function (x) {
        return [fmtTime(x.at_ms), x.identity || x.peer, x.method, x.reason];
      })));
  }

  function renderAccess() {
    var box = section("access");
    var actors = Object.keys(data.access.by_actor).sort();
    box.appendChild(barChart("access", actors.map(function (a) {
      return {label: a, values: [data.access.by_actor[a]]};
    }), ["查阅 reads"]));
    if (data.access.agencies.length) {
      box.appendChild(el("h3", {}, "联合惩戒单位查询 agency queries, by purpose"));
      box.appendChild(table(["单位 agency", "事由 purpose", "调用 calls"],
        data.access.agencies.map(function (x) { return [x.agency, x.purpose, x.calls]; })));
    }
  }

  function renderEvidence() {
    var box = section("evidence");
    if (!data.evidence.length) {
      box.appendChild(el("p", {"class": "note"}, "未发现分叉证据 no equivocation evidence held"));
      return;
    }
    box.appendChild(table(["来源 origin", "发现节点 detected by", "时间 time (CST)"],
      data.evidence.map(function (e) { return [e.origin, e.detected_by, fmtTime(e.at_ms)]; }),
      ["bad", null, null]));
  }

  renderOverview();
  renderTimeline();
  renderLag();
  if (data.lookups) { renderLookups(); }
  if (data.tasks) { renderTasks(); }
  if (data.refusals) { renderRefusals(); }
  renderAccess();
  renderEvidence();
  document.documentElement.setAttribute("data-rendered", "ok");
})();
"""

# (section id, Chinese title, English title, data key that must be non-null to show it)
_SECTIONS = (
    ("sizes", "各来源日志规模", "log sizes per origin", None),
    ("timeline", "检查点与见证时间线", "checkpoints and witnesses over time", None),
    ("lag", "区域间复制滞后", "replication lag between regions", None),
    ("lookups", "财产查询：按请求方统计", "asset lookups per requester and answers", "lookups"),
    ("tasks", "委托执行：逾期事项", "delegated tasks: overdue", "tasks"),
    ("refusals", "拒绝记录", "refused calls", "refusals"),
    ("access", "个人信息查阅记录", "reads of personal data, by actor", None),
    ("evidence", "分叉证据", "equivocation evidence", None),
)


def render(data: dict[str, Any]) -> str:
    """The complete page for ``data`` (see cli.report for its shape)."""
    # "</" inside a script element would end it early; JSON allows "<\\/" for "</".
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    sections = "\n".join(
        f'<section id="{sid}"><h2>{html.escape(zh)} <small>{html.escape(en)}</small></h2></section>'
        for sid, zh, en, key in _SECTIONS
        if key is None or data.get(key) is not None
    )
    title = html.escape(str(data.get("title", "")))
    subtitle = html.escape(str(data.get("subtitle", "")))
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{_CSS}</style>
</head>
<body>
<header><h1>{title}</h1><p>{subtitle}</p></header>
<main>
<div id="report-error"></div>
{sections}
</main>
<script type="application/json" id="report-data">{payload}</script>
<script>{_JS}</script>
</body>
</html>
"""
