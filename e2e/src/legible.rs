//! WCAG AA contrast, checked from what the browser computed: every visible
//! text node's element (and every filled form field), its colour against
//! its effective background, 4.5:1 (3:1 for large text: 24 px, or 18.66 px
//! bold). Text of disabled controls is exempt, as WCAG exempts inactive
//! components; a text node with no letter or digit (an emoji, a bullet)
//! has no contrast to check.

use fantoccini::Client;

/// The page's offenders as `tag#id.class "text": fg on bg = ratio (needs n)`,
/// one line per distinct element path and colour pair.
const WALK: &str = r#"
function parse(c) {
  const m = /rgba?\(([^)]+)\)/.exec(c || '');
  if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
}
function over(top, bottom) {
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
}
function lum(c) {
  const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
}
function ratio(a, b) {
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
function svgText(e) { return e instanceof SVGElement && e.tagName.toLowerCase() === 'text'; }
function background(el) {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    let bg = parse(getComputedStyle(e).backgroundColor);
    if (e instanceof SVGElement) {
      // A label drawn on a shape: the shape's fill is its background.
      const shape = e.parentNode && e.parentNode.querySelector && e.parentNode.querySelector(':scope > rect');
      bg = shape && svgText(e) ? parse(getComputedStyle(shape).fill) : null;
    }
    if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
  }
  let base = [255, 255, 255, 1];
  for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
  return base;
}
function opacity(el) {
  let o = 1;
  for (let e = el; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity);
  return o;
}
function name(el) {
  const parts = [];
  for (let e = el, i = 0; e && i < 3; e = e.parentElement, i++) {
    let n = e.tagName.toLowerCase();
    if (e.id) n += '#' + e.id;
    const cls = typeof e.className === 'string' ? e.className : (e.className && e.className.baseVal) || '';
    if (cls.trim()) n += '.' + cls.trim().split(/\s+/).join('.');
    parts.unshift(n);
    if (e.id) break;
  }
  return parts.join(' > ');
}
function exempt(el) {
  return el.closest('button:disabled, [aria-disabled="true"], option, .sr-only, [aria-hidden="true"]');
}
function check(el, text, out, seen) {
  if (!el || exempt(el)) return;
  const r = el.getBoundingClientRect();
  if (r.width <= 1 || r.height <= 1) return;
  if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) return;
  const cs = getComputedStyle(el);
  let fg = parse(svgText(el) || el.closest('svg') ? cs.fill : cs.color);
  if (!fg) return;
  fg = [fg[0], fg[1], fg[2], fg[3] * opacity(el)];
  const bg = background(el);
  const c = ratio(over(fg, bg), bg);
  let size = parseFloat(cs.fontSize);
  if (el.getScreenCTM && el.closest('svg')) { const m = el.getScreenCTM(); if (m) size *= m.a; }
  const large = size >= 24 || (size >= 18.66 && parseInt(cs.fontWeight, 10) >= 700);
  const need = large ? 3 : 4.5;
  if (c + 1e-6 < need) {
    const rgb = v => 'rgb(' + v.slice(0, 3).map(Math.round).join(',') + ')';
    const key = name(el) + rgb(fg) + rgb(bg);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(name(el) + ' ' + JSON.stringify(text.trim().slice(0, 40)) + ': ' + rgb(over(fg, bg)) +
      ' on ' + rgb(bg) + ' = ' + c.toFixed(2) + ' (needs ' + need + ')');
  }
}
const out = [], seen = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (!/[\p{L}\p{N}]/u.test(n.nodeValue)) continue;
  const el = n.parentElement;
  if (!el || el.closest('script, style, noscript, title')) continue;
  check(el, n.nodeValue, out, seen);
}
for (const el of document.querySelectorAll('input, textarea, select')) {
  if (el.type === 'file' || el.type === 'hidden') continue;
  const v = el.tagName === 'SELECT' ? (el.selectedOptions[0] || {}).textContent || '' : el.value;
  if (/[\p{L}\p{N}]/u.test(v)) check(el, v, out, seen);
}
return out;
"#;

/// Every text on the page now that fails WCAG AA, one line each.
pub async fn offenders(c: &Client) -> Vec<String> {
    let value = c.execute(WALK, vec![]).await.expect("walk the page's text");
    value
        .as_array()
        .expect("a list of offenders")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}
