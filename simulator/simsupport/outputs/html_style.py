"""The report's stylesheet and script, inline in every report.html: a laptop screen first, a
printout second (no sticky headers, a page per section, tables not cut at the side), and a
few lines of JS to sort a table by a click (or Enter) on its header."""

from __future__ import annotations

CSS = """
:root{--ink:#1d2430;--muted:#5b6472;--line:#d9dee5;--bg:#f6f7f9;--head:#eef1f5;--accent:#1f5fa8;
--pass:#11652e;--pass-bg:#e3f3e8;--fail:#a11b12;--fail-bg:#fbe4e1;--warn:#7a4b00;--warn-bg:#fff4d6;--warn-line:#e0a800}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:18px 28px 10px}
h1{font-size:1.5rem;margin:0 0 2px}
.subtitle{margin:0 0 8px;color:var(--muted)}
nav.toc ul{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.92rem}
nav.toc a{color:var(--accent);text-decoration:none}
nav.toc a:hover{text-decoration:underline}
main{max-width:1440px;margin:0 auto;padding:8px 28px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:6px 18px 14px;margin:18px 0}
h2{font-size:1.2rem;margin:14px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--head)}
h3{font-size:1rem;margin:16px 0 4px}
p{margin:6px 0 10px;max-width:95ch}
p.note{color:var(--muted);font-size:.9rem;margin-top:0}
p.count{color:var(--muted);font-size:.8rem;margin:4px 0 0}
p.empty{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:6px 0 10px}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere;font-variant-numeric:tabular-nums}
.callout{border-left:5px solid var(--accent);background:#eef4fb;padding:8px 14px;border-radius:4px;margin:8px 0}
.callout.warning{border-color:var(--warn-line);background:var(--warn-bg);color:var(--warn)}
.callout.warning li{color:var(--ink)}
.callout.ok{border-color:var(--pass);background:var(--pass-bg);color:var(--pass)}
.callout ul{margin:4px 0 0;padding-left:20px}
.callout li{margin:3px 0}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
.scroll.tall{max-height:70vh;overflow-y:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem;font-variant-numeric:tabular-nums}
th,td{padding:5px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap}
td.short{white-space:nowrap}
th.num{text-align:right}
thead th{background:var(--head);position:sticky;top:0;z-index:1;cursor:pointer;user-select:none;white-space:normal;vertical-align:bottom}
thead th:hover{background:#e2e7ee}
thead th::after{content:"\\00a0\\2195";color:#9aa3af;font-size:.8em}
thead th[aria-sort=ascending]::after{content:"\\00a0\\25B2";color:var(--accent)}
thead th[aria-sort=descending]::after{content:"\\00a0\\25BC";color:var(--accent)}
tbody tr:nth-child(even){background:#fafbfc}
tbody tr:hover{background:#f0f5fb}
tfoot td{font-weight:600;border-top:2px solid var(--line);background:#f3f5f8}
td.verdict{font-weight:600;text-align:center;white-space:nowrap}
td.pass{color:var(--pass);background:var(--pass-bg)}
td.fail{color:var(--fail);background:var(--fail-bg)}
td.na{color:var(--muted)}
figure{margin:12px 0 18px}
figure img{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
figure.svg svg{max-width:100%;height:auto;display:block}
.charts{display:flex;flex-wrap:wrap;gap:4px 24px}
.charts figure{margin:8px 0;flex:1 1 520px;max-width:720px}
figcaption{color:var(--muted);font-size:.88rem;margin-top:4px}
figcaption .file{font-size:.8rem}
details{margin:10px 0}
summary{cursor:pointer;color:var(--accent);font-weight:600}
@media (max-width:700px){main,header{padding-left:10px;padding-right:10px}section{padding:4px 10px 10px}}
@media print{
 @page{margin:12mm}
 body{background:#fff;font-size:10pt}
 header{border:0;padding:0 0 6px}
 nav.toc{display:none}
 main{max-width:none;padding:0}
 section{border:0;border-radius:0;padding:0;margin:0;break-before:page}
 section:first-of-type,section.same-page{break-before:auto}
 h2,h3{break-after:avoid}
 figure,.callout,dl.facts{break-inside:avoid}
 figure img{max-height:24cm;width:auto;max-width:100%}
 .scroll,.scroll.tall{overflow:visible;max-height:none;border:0}
 table{font-size:8pt;width:100%;table-layout:auto}
 th,td{padding:2px 4px;white-space:normal}
 td.num{white-space:nowrap}
 td.short{white-space:normal}
 .charts{display:block}
 thead{display:table-header-group}
 thead th{position:static;cursor:auto}
 thead th::after{content:none}
 tr{break-inside:avoid}
 p.count{display:none}
 td.pass,td.fail,.callout,thead th,tfoot td{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 details>summary{display:none}
}
"""

JS = """
(function(){
 function num(td){var s=td&&td.getAttribute('data-sort');return s===null||s===undefined?null:parseFloat(s);}
 function txt(td){return td?td.textContent.trim():'';}
 function cmp(a,b,i,dir){
  var x=a.cells[i],y=b.cells[i],vx=num(x),vy=num(y);
  if(vx!==null&&vy!==null)return (vx-vy)*dir;
  if(vx!==null)return -1; if(vy!==null)return 1;
  var tx=txt(x),ty=txt(y),mx=tx==='\\u2013'||tx==='',my=ty==='\\u2013'||ty==='';
  if(mx!==my)return mx?1:-1;
  return tx.localeCompare(ty,undefined,{numeric:true})*dir;
 }
 function sortBy(th){
  var row=th.parentNode,i=Array.prototype.indexOf.call(row.children,th),body=th.closest('table').tBodies[0];
  var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
  Array.prototype.forEach.call(row.children,function(h){h.removeAttribute('aria-sort');});
  th.setAttribute('aria-sort',dir===1?'ascending':'descending');
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){return cmp(a,b,i,dir);});
  rows.forEach(function(r){body.appendChild(r);});
 }
 document.querySelectorAll('table.sortable thead th').forEach(function(th){
  th.addEventListener('click',function(){sortBy(th);});
  th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sortBy(th);}});
 });
 window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.setAttribute('open','');});});
})();
"""
