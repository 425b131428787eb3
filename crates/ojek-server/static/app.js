/* ojek web UI script. Plain ES2020, no dependencies, no build step.
 *
 * Every page: `/` focuses the search box, copy buttons, confirmations on destructive forms.
 * The editor page (form#editor): the YAML editor (gutter, indentation, problem marks), the
 * Form tab (built from /ui/form/from-yaml, written back through /ui/form/apply), the live
 * preview of both targets (/api/preview), click-to-explain (/api/explain), the problems list
 * and the save shortcuts. Saving itself is the form's plain POST, so it works without us.
 * The logs page (#log-tail): live tail over Server-Sent Events.
 *
 * The Content-Security-Policy allows no inline script or style: page data comes from data-*
 * attributes, and everything is built with DOM calls and textContent (never innerHTML). */
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** Creates an element: h('button', {class: 'btn', type: 'button', onclick: f}, 'Label'). */
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'value') node.value = value;
    else if (key === 'checked' || key === 'disabled' || key === 'readOnly') node[key] = Boolean(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const csrfToken = () => $('meta[name="csrf-token"]')?.content || '';

/** POSTs JSON with the session's CSRF token; resolves to {ok, status, data}. */
async function postJSON(url, body, signal) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
    body: JSON.stringify(body),
    signal,
  });
  let data;
  try {
    data = await res.json();
  } catch {
    data = { error: `${res.status} ${res.statusText}` };
  }
  if (res.status === 401) data.error = 'Your session has ended: sign in again (in another tab, to keep your edit).';
  return { ok: res.ok, status: res.status, data };
}

const isTyping = (el) =>
  el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
const isMod = (e) => (e.ctrlKey || e.metaKey) && !e.altKey;
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/* ---------------------------------------------------------------- every page */

document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || isTyping(document.activeElement)) return;
  const search = $('[data-shortcut="/"]');
  if (!search) return;
  e.preventDefault();
  search.focus();
  search.select();
});

document.addEventListener('click', async (e) => {
  const button = e.target.closest('[data-copy]');
  if (!button) return;
  const source = $(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.value || source.textContent);
  } catch {
    source.select?.();
    document.execCommand('copy');
  }
  const label = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => (button.textContent = label), 1500);
});

document.addEventListener('submit', (e) => {
  const question = e.target.dataset?.confirm;
  if (question && !window.confirm(question)) e.preventDefault();
});

/* ---------------------------------------------------------------- the editor */

const editorForm = $('form#editor');
if (editorForm) initEditor(editorForm);

const tailSection = $('#log-tail');
if (tailSection) initTail(tailSection);

/** Live tail on the logs page: the page's Server-Sent Events feed (`records` events, each a
 * JSON array), newest rows on top, at most 500 kept. Text goes in with textContent only. */
function initTail(section) {
  const rows = $('#log-tail-rows', section);
  const status = $('#log-tail-status', section);
  const setStatus = (cls, text) => {
    status.className = `status ${cls}`;
    status.textContent = text;
  };
  const source = new EventSource(section.dataset.url);
  source.addEventListener('open', () => setStatus('ok', 'live'));
  source.addEventListener('error', () => setStatus('error', 'reconnecting'));
  source.addEventListener('lagged', (e) => setStatus('warning', `skipped ${e.data} batches (too fast)`));
  source.addEventListener('records', (e) => {
    let records;
    try {
      records = JSON.parse(e.data);
    } catch {
      return;
    }
    for (const r of records) {
      const time = new Date(r.timestamp).toISOString().replace('T', ' ').slice(0, 23);
      const row = h('tr', { class: 'log-row', 'data-level': r.level || null },
        h('td', { class: 'nowrap log-time' }, time),
        h('td', { class: 'nowrap' }, `${r.app} · ${r.env}`),
        h('td', {}, r.level ? h('span', { class: `log-level ${r.level}` }, r.level) : ''),
        h('td', { class: 'log-message' }, h('pre', { class: 'log-full' }, r.message)));
      rows.prepend(row);
    }
    while (rows.children.length > 500) rows.lastElementChild.remove();
  });
  window.addEventListener('beforeunload', () => source.close());
}

function initEditor(form) {
  const textarea = $('#manifest', form);
  const gutter = $('#yaml-gutter', form);
  const envSelect = $('#environment', form);
  const status = $('#preview-status', form);
  const explainPanel = $('#explain-panel');
  const ed = {
    editable: form.dataset.editable === 'true',
    manifestFile: form.dataset.manifestFile || 'app.yaml',
    files: parseJSON(form.dataset.files) || {},
    initial: form.dataset.unsaved === 'true' ? null : textarea.value, // null: a refused save
    seq: 0, // preview requests sent
    controller: null,
    timer: 0,
    preview: null, // the last preview shown, with the text and environment it is for
    nomadFormat: 'hcl',
    marks: new Map(), // line -> 'error' | 'warning'
    gutterKey: '',
    escapeArmed: false,
    formModel: null,
    formSeq: 0, // form reads sent
    formError: false, // the last form apply was refused: the YAML lacks the form's edit
    applyTimer: 0,
    applying: null, // promise of the form apply in flight
    applySeq: 0,
    explainReturn: null,
    explainSeq: 0,
  };

  function parseJSON(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  /* ---- YAML editor: gutter, scrolling, indentation */

  function renderGutter() {
    const count = textarea.value.split('\n').length;
    const key = `${count}|${[...ed.marks].join(',')}`;
    if (key === ed.gutterKey) return;
    ed.gutterKey = key;
    const frag = document.createDocumentFragment();
    for (let i = 1; i <= count; i++) {
      const mark = ed.marks.get(i);
      frag.append(h('span', { class: mark ? `gl ${mark}` : 'gl' }, String(i)));
    }
    gutter.replaceChildren(frag);
    gutter.scrollTop = textarea.scrollTop;
  }

  textarea.addEventListener('scroll', () => {
    gutter.scrollTop = textarea.scrollTop;
  });

  /** Inserts text at the selection, keeping the browser's undo history where it can. */
  function insert(text) {
    if (!document.execCommand('insertText', false, text)) {
      textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, 'end');
      textarea.dispatchEvent(new Event('input'));
    }
  }

  /** Indents (or outdents) every line the selection touches by two spaces. */
  function indentLines(outdent) {
    const value = textarea.value;
    const start = value.lastIndexOf('\n', textarea.selectionStart - 1) + 1;
    let end = value.indexOf('\n', Math.max(textarea.selectionEnd - 1, start));
    if (end === -1) end = value.length;
    const lines = value.slice(start, end).split('\n');
    const changed = lines.map((l) => (outdent ? l.replace(/^ {1,2}/, '') : `  ${l}`)).join('\n');
    textarea.setSelectionRange(start, end);
    insert(changed);
    textarea.setSelectionRange(start, start + changed.length);
  }

  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      ed.escapeArmed = true; // the next Tab leaves the editor
      return;
    }
    if (e.key === 'Tab' && !ed.escapeArmed && !textarea.readOnly && !isMod(e)) {
      e.preventDefault();
      const multiLine = textarea.value.slice(textarea.selectionStart, textarea.selectionEnd).includes('\n');
      if (e.shiftKey || multiLine) indentLines(e.shiftKey);
      else insert('  ');
      return;
    }
    ed.escapeArmed = false;
    if (e.key === 'Enter' && !isMod(e) && !e.shiftKey && !textarea.readOnly) {
      // Keep the indentation of the line; one level deeper after `key:` or `- `.
      const before = textarea.value.slice(0, textarea.selectionStart);
      const line = before.slice(before.lastIndexOf('\n') + 1);
      let indent = line.match(/^\s*/)[0];
      if (/:\s*$/.test(line) || /^\s*- [^:#]+:\s/.test(line)) indent += '  ';
      e.preventDefault();
      insert(`\n${indent}`);
    }
  });
  textarea.addEventListener('blur', () => (ed.escapeArmed = false));

  textarea.addEventListener('input', () => {
    renderGutter();
    schedulePreview();
  });

  /** Moves the cursor to a line of the YAML (switching to the YAML tab) and selects it. */
  function goToLine(line) {
    selectTab('yaml');
    const lines = textarea.value.split('\n');
    const n = Math.min(Math.max(1, line), lines.length);
    let start = 0;
    for (let i = 0; i < n - 1; i++) start += lines[i].length + 1;
    textarea.focus();
    textarea.setSelectionRange(start, start + lines[n - 1].length);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (n - 1) * lineHeight - textarea.clientHeight / 3);
    gutter.scrollTop = textarea.scrollTop;
  }

  /* ---- tabs */

  const tabs = $$('[role="tab"]', form);
  function selectTab(name) {
    if ($(`#tab-${name}`, form).getAttribute('aria-selected') === 'true') return;
    for (const tab of tabs) {
      const selected = tab.id === `tab-${name}`;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      $(`#${tab.getAttribute('aria-controls')}`).hidden = !selected;
    }
    if (name === 'form') loadForm();
    else flushApply();
  }
  for (const tab of tabs) {
    tab.addEventListener('click', () => selectTab(tab.id.replace('tab-', '')));
    tab.addEventListener('keydown', (e) => {
      const i = tabs.indexOf(tab);
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      const next = tabs[(to + tabs.length) % tabs.length];
      next.focus();
      selectTab(next.id.replace('tab-', ''));
    });
  }

  /* ---- live preview */

  function setStatus(kind, text) {
    status.className = `status ${kind}`;
    status.textContent = text;
  }

  function schedulePreview() {
    clearTimeout(ed.timer);
    setStatus('pending', 'editing…');
    ed.timer = setTimeout(runPreview, 300);
  }

  async function runPreview() {
    clearTimeout(ed.timer);
    if (!envSelect.value) {
      setStatus('error', 'no environments: the platform file is missing or invalid');
      return;
    }
    const seq = ++ed.seq;
    ed.controller?.abort();
    ed.controller = new AbortController();
    const text = textarea.value;
    setStatus('busy', 'rendering…');
    try {
      const body = { manifest: text, files: ed.files, environment: envSelect.value };
      const r = await postJSON('/api/preview', body, ed.controller.signal);
      if (seq !== ed.seq) return; // a newer request was sent meanwhile
      if (!r.ok) {
        setStatus('error', r.data.error || `preview failed (${r.status})`);
        return;
      }
      showPreview({ ...r.data, text });
    } catch (err) {
      if (err.name !== 'AbortError' && seq === ed.seq) setStatus('error', `preview failed: ${err.message}`);
    }
  }

  function showPreview(data) {
    ed.preview = data;
    const diags = data.diagnostics || [];
    renderProblems(diags);
    renderTarget('kubernetes');
    renderTarget('nomad');
    const errors = diags.filter((d) => d.severity === 'error').length;
    const warnings = diags.length - errors;
    if (errors) setStatus('error', plural(errors, 'problem') + (warnings ? `, ${plural(warnings, 'warning')}` : ''));
    else if (warnings) setStatus('warning', `up to date · ${plural(warnings, 'warning')}`);
    else setStatus('ok', 'up to date');
  }

  envSelect.addEventListener('change', () => {
    try {
      localStorage.setItem('ojek.environment', envSelect.value);
    } catch {
      /* private mode */
    }
    closeExplain();
    runPreview();
  });
  try {
    const saved = localStorage.getItem('ojek.environment');
    if (saved && [...envSelect.options].some((o) => o.value === saved)) envSelect.value = saved;
  } catch {
    /* private mode */
  }

  for (const button of $$('#nomad-hcl, #nomad-json', form)) {
    button.addEventListener('click', () => {
      ed.nomadFormat = button.id === 'nomad-hcl' ? 'hcl' : 'json';
      for (const b of $$('#nomad-hcl, #nomad-json', form)) b.setAttribute('aria-pressed', String(b === button));
      renderTarget('nomad');
    });
  }

  /** Shows one target's output: one span per line; lines with a field are explainable. */
  function renderTarget(name) {
    const pre = $(`#preview-${name}`);
    const meta = $(`#meta-${name}`);
    const t = ed.preview?.[name];
    pre.classList.remove('stale');
    if (!t || t.error) {
      // Keep the last good output, dimmed, while the manifest has errors.
      if (pre.querySelector('.line')) pre.classList.add('stale');
      else pre.replaceChildren(h('span', { class: 'placeholder' }, 'Fix the problems below to see the output.'));
      meta.textContent = 'out of date';
      return;
    }
    if (t.available === false) {
      pre.replaceChildren(h('span', { class: 'placeholder' }, t.reason || 'not available in this environment'));
      meta.textContent = '';
      return;
    }
    const hcl = name === 'nomad' && ed.nomadFormat === 'hcl';
    const text = (hcl ? t.hcl : t.text) || '';
    const map = hcl ? [] : t.lines || [];
    const lines = text.replace(/\n$/, '').split('\n');
    const frag = document.createDocumentFragment();
    lines.forEach((line, i) => {
      const explainable = Boolean(map[i]);
      frag.append(h('span', { class: explainable ? 'line x' : 'line', 'data-i': i }, `${line}\n`));
    });
    const scroll = pre.scrollTop;
    pre.replaceChildren(frag);
    pre.scrollTop = scroll;
    const warnings = (t.warnings || []).length;
    meta.textContent =
      plural((t.objects || []).length, name === 'nomad' ? 'job' : 'object') +
      (warnings ? ` · ${plural(warnings, 'warning')}` : '') +
      (hcl ? ' · switch to API to explain fields' : '');
  }

  /* ---- problems */

  const problemsList = $('#problems-list', form);
  function renderProblems(diags) {
    ed.marks = new Map();
    for (const d of diags) {
      if (d.line && (d.file === ed.manifestFile || !d.file) && ed.marks.get(d.line) !== 'error') {
        ed.marks.set(d.line, d.severity === 'error' ? 'error' : 'warning');
      }
    }
    renderGutter();
    problemsList.replaceChildren(
      ...diags.map((d) =>
        h(
          'li',
          { class: `problem ${d.severity === 'error' ? 'error' : 'warning'}`, 'data-line': d.line || null },
          h(
            'button',
            { class: 'problem-go', type: 'button' },
            h('span', { class: 'sev' }, d.severity),
            h('span', { class: 'loc' }, d.line ? `${d.line}:${d.column || 1}` : '—'),
            d.file && d.file !== ed.manifestFile ? h('span', { class: 'file' }, d.file) : null,
            d.path ? h('code', { class: 'path' }, d.path) : null,
            h('span', { class: 'msg' }, d.message),
            d.hint ? h('span', { class: 'hint' }, d.hint) : null,
          ),
        ),
      ),
    );
    const count = $('#problems-count', form);
    count.textContent = String(diags.length);
    count.dataset.errors = String(diags.filter((d) => d.severity === 'error').length);
    $('#problems-empty', form)?.remove();
    if (!diags.length) problemsList.after(h('p', { class: 'muted', id: 'problems-empty' }, 'No problems found.'));
  }

  problemsList.addEventListener('click', (e) => {
    const item = e.target.closest('li[data-line]');
    if (item) goToLine(Number(item.dataset.line));
  });
  // Marks for problems rendered by the server (a refused save).
  for (const li of $$('li[data-line]', problemsList)) {
    const line = Number(li.dataset.line);
    if (ed.marks.get(line) !== 'error') ed.marks.set(line, li.classList.contains('error') ? 'error' : 'warning');
  }

  /* ---- click-to-explain */

  for (const name of ['kubernetes', 'nomad']) {
    const pre = $(`#preview-${name}`);
    pre.addEventListener('click', (e) => {
      const line = e.target.closest('.line.x');
      if (line) {
        setActive(pre, line);
        explain(name, Number(line.dataset.i), pre);
      }
    });
    pre.addEventListener('keydown', (e) => {
      const lines = $$('.line', pre);
      if (!lines.length) return;
      const current = lines.indexOf($('.line.active', pre));
      const step = { ArrowDown: 1, ArrowUp: -1, PageDown: 20, PageUp: -20 }[e.key];
      if (step !== undefined) {
        e.preventDefault();
        const next = current === -1 ? 0 : Math.min(lines.length - 1, Math.max(0, current + step));
        setActive(pre, lines[next]);
      } else if (e.key === 'Enter' && current !== -1 && lines[current].classList.contains('x')) {
        e.preventDefault();
        explain(name, Number(lines[current].dataset.i), pre);
      }
    });
  }

  function setActive(pre, line) {
    $('.line.active', pre)?.classList.remove('active');
    line.classList.add('active');
    line.scrollIntoView({ block: 'nearest' });
  }

  async function explain(name, index, pre) {
    const p = ed.preview;
    const t = p?.[name];
    const entry = t?.lines?.[index];
    if (!entry) return;
    const object = t.objects[entry[0]];
    const label = name === 'nomad' ? 'Nomad' : 'Kubernetes';
    ed.explainReturn = pre;
    const seq = ++ed.explainSeq;
    openExplain(`${label} · ${object.id}`, h('p', { class: 'muted' }, 'Looking up where this comes from…'));
    const body = {
      manifest: p.text, // the text this output was rendered from: the line map belongs to it
      files: ed.files,
      environment: p.environment,
      target: name,
      object: object.id,
      field: entry[1],
    };
    try {
      const r = await postJSON('/api/explain', body);
      if (seq !== ed.explainSeq || explainPanel.hidden) return;
      if (!r.ok) {
        $('#explain-body').replaceChildren(h('p', { class: 'alert error' }, r.data.error || 'cannot explain'));
        return;
      }
      renderExplanations(r.data.explanations || [], entry[1]);
    } catch (err) {
      if (seq !== ed.explainSeq || explainPanel.hidden) return;
      $('#explain-body').replaceChildren(h('p', { class: 'alert error' }, `cannot explain: ${err.message}`));
    }
  }

  function openExplain(title, content) {
    $('#explain-title').textContent = title;
    $('#explain-body').replaceChildren(content);
    explainPanel.hidden = false;
    $('#explain-close').focus();
  }

  function closeExplain() {
    if (explainPanel.hidden) return;
    explainPanel.hidden = true;
    ed.explainReturn?.focus();
  }
  $('#explain-close').addEventListener('click', closeExplain);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !explainPanel.hidden) {
      e.preventDefault();
      closeExplain();
    }
  });

  const KIND_LABEL = {
    manifest: 'manifest',
    environment: 'environment override',
    platform: 'platform file',
    default: 'ojek default',
    patch: 'patch',
    raw: 'raw object',
  };

  function renderExplanations(list, pointer) {
    const shown = list.slice(0, 50);
    const items = shown.map((x) => {
      const o = x.origin || {};
      const loc = o.location;
      return h(
        'li',
        { class: 'explanation' },
        h(
          'div',
          { class: 'ex-field' },
          h('code', null, x.field || x.pointer || '(whole object)'),
          ' = ',
          h('code', { class: 'ex-value' }, formatValue(x.value)),
        ),
        h(
          'div',
          { class: 'ex-origin' },
          h('span', { class: `origin-kind ${o.kind || ''}` }, KIND_LABEL[o.kind] || o.kind || 'unknown'),
          o.env ? h('span', { class: 'badge' }, `environments.${o.env}`) : null,
          o.field ? h('span', null, ' from ', h('code', null, o.field)) : null,
        ),
        o.note ? h('p', { class: 'ex-note' }, o.note) : null,
        o.inputs?.length ? h('p', { class: 'ex-inputs' }, 'Derived from ', o.inputs.map((i) => h('code', null, i, ' '))) : null,
        loc
          ? h(
              'p',
              { class: 'ex-loc' },
              h('span', { class: 'muted' }, `${loc.file}:${loc.line}:${loc.column}`),
              loc.file === ed.manifestFile
                ? h('button', { class: 'btn small go-line', type: 'button', onclick: () => goToLine(loc.line) }, `Go to line ${loc.line}`)
                : null,
            )
          : null,
      );
    });
    const intro =
      list.length === 0
        ? h('p', { class: 'muted' }, 'No origin is recorded for this field.')
        : list.length > 1
          ? h('p', { class: 'muted' }, `${plural(list.length, 'field')} under `, h('code', null, pointer || '/'),
              list.length > shown.length ? ` (first ${shown.length} shown)` : '')
          : null;
    $('#explain-body').replaceChildren(...[intro, h('ul', { class: 'explanations' }, items)].filter(Boolean));
  }

  function formatValue(v) {
    const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, null, 0);
    return s && s.length > 200 ? `${s.slice(0, 200)}…` : String(s);
  }

  /* ---- the form tab */

  const formPanel = $('#panel-form', form);
  const KINDS = ['service', 'worker', 'cron', 'job'];
  const RESOURCE_TYPES = ['postgres', 'redis', 'kafka-topic', 's3-bucket'];
  let fieldId = 0;

  async function loadForm() {
    const seq = ++ed.formSeq;
    ed.formError = false; // the form is read afresh from the text
    formPanel.replaceChildren(h('p', { class: 'muted' }, 'Reading the manifest…'));
    try {
      const r = await postJSON('/ui/form/from-yaml', { manifest: textarea.value });
      // A later read, or the YAML tab (where the text may have changed since), wins.
      if (seq !== ed.formSeq || formPanel.hidden) return;
      if (r.ok && r.data.form) {
        ed.formModel = r.data.form;
        buildForm();
      } else {
        showFormError(r.data);
      }
    } catch (err) {
      if (seq === ed.formSeq && !formPanel.hidden) showFormError({ error: err.message });
    }
  }

  function showFormError(data) {
    const diags = data.diagnostics || [];
    formPanel.replaceChildren(
      h('div', { class: 'alert error', role: 'alert', id: 'form-error' },
        h('strong', null, 'The form cannot show this manifest. '),
        data.error || 'Fix the YAML first.'),
      diags.length
        ? h('ul', { class: 'problem-list' }, diags.map((d) =>
            h('li', { class: `problem ${d.severity === 'error' ? 'error' : 'warning'}` },
              h('button', { class: 'problem-go', type: 'button', onclick: () => goToLine(d.line || 1) },
                h('span', { class: 'loc' }, d.line ? `${d.line}:${d.column || 1}` : '—'),
                h('span', { class: 'msg' }, d.message)))))
        : null,
      h('button', { class: 'btn', type: 'button', onclick: () => selectTab('yaml') }, 'Back to the YAML'),
    );
  }

  /** A labelled input bound to obj[key]; `kind`: text, number, lines (one item per line), check. */
  function field(label, obj, key, opts = {}) {
    const id = opts.id || `ff-${++fieldId}`;
    const disabled = !ed.editable || opts.readOnly;
    const value = obj[key];
    let input;
    if (opts.choices) {
      input = h('select', { id, disabled }, opts.choices.map((c) => h('option', { value: c }, c)));
      input.value = value || opts.choices[0];
    } else if (opts.kind === 'lines') {
      input = h('textarea', { id, rows: Math.max(1, (value || []).length), disabled, spellcheck: 'false',
        value: (value || []).join('\n') });
    } else if (opts.kind === 'check') {
      input = h('input', { id, type: 'checkbox', checked: Boolean(value), disabled });
    } else {
      input = h('input', { id, type: opts.kind === 'number' ? 'number' : 'text', value: value ?? '', disabled,
        placeholder: opts.placeholder, min: opts.kind === 'number' ? 0 : null, spellcheck: 'false',
        autocomplete: 'off' });
    }
    input.addEventListener(opts.choices || opts.kind === 'check' ? 'change' : 'input', () => {
      if (opts.kind === 'check') obj[key] = input.checked;
      else if (opts.kind === 'number') obj[key] = input.value === '' ? (opts.optional ? null : 0) : Number(input.value);
      else if (opts.kind === 'lines') obj[key] = input.value.split('\n').filter((l) => l !== '');
      else obj[key] = input.value;
      opts.after?.(obj[key]);
      if (opts.rebuild) {
        buildForm(id);
        applyNow();
      } else {
        scheduleApply();
      }
    });
    const cls = `field${opts.kind === 'check' ? ' check' : ''}${opts.wide ? ' wide' : ''}`;
    return opts.kind === 'check'
      ? h('label', { class: cls, for: id }, input, ` ${label}`)
      : h('div', { class: cls }, h('label', { for: id }, label), input, opts.help ? h('small', null, opts.help) : null);
  }

  /** A list of rows (ports, routes, env, resources) with add and remove buttons. */
  function rows(title, list, makeRow, blank, idBase) {
    const items = list.map((item, i) =>
      h('div', { class: 'row' }, makeRow(item, i),
        ed.editable
          ? h('button', { class: 'btn small icon remove', type: 'button', 'aria-label': `Remove ${title.toLowerCase()} ${i + 1}`,
              onclick: () => { list.splice(i, 1); buildForm(); applyNow(); } }, '×')
          : null),
    );
    return h('fieldset', { class: 'rows', 'data-rows': idBase }, h('legend', null, title),
      items.length ? items : h('p', { class: 'muted empty-rows' }, 'none'),
      ed.editable
        ? h('button', { class: 'btn small add', type: 'button', id: `${idBase}-add`,
            onclick: () => { list.push(blank()); buildForm({ rows: idBase }); } },
            `Add ${title.toLowerCase().replace(/s$/, '')}`)
        : null);
  }

  function processFieldset(p, pi, model) {
    const id = (s) => `proc-${pi}-${s}`;
    p.ports ||= [];
    p.routes ||= [];
    p.env ||= [];
    const longRunning = p.kind === 'service' || p.kind === 'worker';
    const scaleMode = p.autoscale ? 'autoscale' : 'replicas';
    const title = h('code', null, p.name || '(unnamed)');
    return h('fieldset', { class: 'process', 'data-process': pi },
      h('legend', null, 'Process ', title),
      h('div', { class: 'grid' },
        field('Name', p, 'name', { id: id('name'), after: (v) => (title.textContent = v || '(unnamed)') }),
        field('Kind', p, 'kind', { id: id('kind'), choices: KINDS, rebuild: true }),
        field('Image', p, 'image', { id: id('image'), wide: true, placeholder: 'registry.example.com/team/app:1.0.0' }),
        field('Command', p, 'command', { id: id('command'), kind: 'lines', help: 'one item per line' }),
        field('Arguments', p, 'args', { id: id('args'), kind: 'lines', help: 'one item per line' }),
      ),
      !longRunning && !p.ports.length ? null : rows('Ports', p.ports, (port, j) => [
        field('Name', port, 'name', { id: id(`port-${j}-name`) }),
        field('Port', port, 'port', { id: id(`port-${j}-port`), kind: 'number' }),
      ], () => ({ name: 'http', port: 8080 }), id('port')),
      p.kind === 'service'
        ? rows('Routes', p.routes, (r, j) => [
            field('Host', r, 'host', { id: id(`route-${j}-host`), placeholder: 'app.example.com' }),
            field('Path', r, 'path', { id: id(`route-${j}-path`), placeholder: '/' }),
            field('Port', r, 'port', { id: id(`route-${j}-port`), placeholder: 'port name' }),
            field('TLS', r, 'tls', { id: id(`route-${j}-tls`), kind: 'check' }),
          ], () => ({ host: '', path: '/', port: '', tls: true }), id('route'))
        : null,
      rows('Environment variables', p.env, (v, j) => [
        field('Name', v, 'name', { id: id(`env-${j}-name`), readOnly: v.editable === false }),
        field('Value', v, 'value', { id: id(`env-${j}-value`), readOnly: v.editable === false, wide: true,
          help: v.editable === false ? 'not a plain value: edit it in the YAML' : null }),
      ], () => ({ name: '', value: '', editable: true }), id('env')),
      h('fieldset', { class: 'rows' }, h('legend', null, 'Resources'),
        h('div', { class: 'grid four' },
          field('CPU request', p, 'cpuRequest', { id: id('cpu-request'), placeholder: '100m' }),
          field('CPU limit', p, 'cpuLimit', { id: id('cpu-limit'), placeholder: 'none' }),
          field('Memory request', p, 'memoryRequest', { id: id('memory-request'), placeholder: '128Mi' }),
          field('Memory limit', p, 'memoryLimit', { id: id('memory-limit'), placeholder: '256Mi' }))),
      longRunning
        ? h('fieldset', { class: 'rows' }, h('legend', null, 'Scaling'),
            h('div', { class: 'grid' },
              field('Scaling', { mode: scaleMode }, 'mode', {
                id: id('scaling'), choices: ['replicas', 'autoscale'], rebuild: true,
                after: (mode) => {
                  if (mode === 'autoscale') {
                    p.autoscale = { min: p.replicas || 2, max: Math.max(4, (p.replicas || 2) * 2), cpu: 70 };
                    p.replicas = null;
                  } else {
                    p.replicas = p.autoscale?.min || 2;
                    p.autoscale = null;
                  }
                },
              }),
              scaleMode === 'replicas'
                ? field('Replicas', p, 'replicas', { id: id('replicas'), kind: 'number', optional: true })
                : [
                    field('Min', p.autoscale, 'min', { id: id('autoscale-min'), kind: 'number' }),
                    field('Max', p.autoscale, 'max', { id: id('autoscale-max'), kind: 'number' }),
                    field('Target CPU %', p.autoscale, 'cpu', { id: id('autoscale-cpu'), kind: 'number', optional: true }),
                  ]))
        : null,
      p.kind === 'cron'
        ? h('div', { class: 'grid' },
            field('Schedule', p, 'schedule', { id: id('schedule'), placeholder: '30 2 * * *', help: 'cron syntax' }),
            field('Time zone', p, 'timeZone', { id: id('time-zone'), placeholder: 'Asia/Jakarta' }))
        : null,
      ed.editable && model.processes.length > 1
        ? h('button', { class: 'btn small danger', type: 'button', id: id('remove'),
            onclick: () => { model.processes.splice(pi, 1); buildForm(); applyNow(); } }, `Remove process ${p.name}`)
        : null,
    );
  }

  /** (Re)builds the form from ed.formModel; `focusId`: the id of the field to focus afterwards,
   * or {rows: idBase} for the first field of the last row of a list. */
  function buildForm(focusId) {
    const m = ed.formModel;
    m.processes ||= [];
    m.resources ||= [];
    fieldId = 0;
    const content = h('div', { class: 'form-model' },
      h('div', { id: 'form-error-slot' }),
      h('fieldset', { class: 'app' }, h('legend', null, 'App'),
        h('div', { class: 'grid' },
          field('Name', m, 'name', { id: 'app-name' }),
          field('Team', m, 'team', { id: 'app-team' }),
          field('Description', m, 'description', { id: 'app-description', wide: true }))),
      rows('Resources', m.resources, (r, j) => [
        field('Name', r, 'name', { id: `resource-${j}-name` }),
        field('Type', r, 'type', { id: `resource-${j}-type`, choices: RESOURCE_TYPES }),
      ], () => ({ name: 'db', type: 'postgres' }), 'resource'),
      m.processes.map((p, i) => processFieldset(p, i, m)),
      ed.editable
        ? h('button', { class: 'btn', type: 'button', id: 'add-process',
            onclick: () => {
              m.processes.push({ name: `process${m.processes.length + 1}`, kind: 'worker', image: '', command: [],
                args: [], ports: [], routes: [], env: [], replicas: 1 });
              buildForm(`proc-${m.processes.length - 1}-name`);
              applyNow();
            } }, 'Add process')
        : null,
      h('p', { class: 'muted form-note' },
        'The form shows the common fields; everything else (health checks, files, overrides per environment, patches) stays as it is in the YAML.'),
    );
    formPanel.replaceChildren(content);
    if (typeof focusId === 'string') $(`#${CSS.escape(focusId)}`, formPanel)?.focus();
    else if (focusId?.rows) $$(`[data-rows="${focusId.rows}"] > .row`, formPanel).pop()?.querySelector('input, select')?.focus();
  }

  // Enter in a form-tab field must not submit (and save) the whole editor.
  formPanel.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target.tagName === 'INPUT') {
      e.preventDefault();
      flushApply();
    }
  });

  function scheduleApply() {
    clearTimeout(ed.applyTimer);
    setStatus('pending', 'editing…');
    ed.applyTimer = setTimeout(applyForm, 400);
  }

  /** Applies the form right away (after a structural change: a row or process added or removed). */
  function applyNow() {
    clearTimeout(ed.applyTimer);
    ed.applyTimer = 0;
    return applyForm();
  }

  /** Applies pending form changes now, if any; resolves when the text is up to date (or the
   * apply was refused: see `ed.formError`). */
  function flushApply() {
    if (ed.applyTimer) {
      clearTimeout(ed.applyTimer);
      ed.applyTimer = 0;
      return applyForm();
    }
    return ed.applying || Promise.resolve();
  }

  /** Writes the form into the manifest text, then previews it. */
  function applyForm() {
    ed.applyTimer = 0;
    if (!ed.formModel || !ed.editable) return Promise.resolve();
    const seq = ++ed.applySeq;
    const run = (async () => {
      const r = await postJSON('/ui/form/apply', { manifest: textarea.value, form: ed.formModel });
      if (seq !== ed.applySeq) return;
      const slot = $('#form-error-slot', formPanel);
      ed.formError = !r.ok;
      if (!r.ok) {
        slot?.replaceChildren(h('div', { class: 'alert error', role: 'alert', id: 'form-error', tabindex: '-1' },
          r.data.error || 'cannot apply'));
        setStatus('error', 'the form could not be applied');
        return;
      }
      slot?.replaceChildren();
      if (r.data.manifest !== textarea.value) {
        textarea.value = r.data.manifest;
        renderGutter();
      }
      runPreview();
    })().catch((err) => {
      if (seq !== ed.applySeq) return;
      ed.formError = true;
      setStatus('error', `the form could not be applied: ${err.message}`);
    });
    // Compare with the promise stored, not with `run`: otherwise `applying` is never cleared
    // and the submit handler keeps deferring the save to an apply that already finished.
    const applying = run.finally(() => {
      if (ed.applying === applying) ed.applying = null;
    });
    ed.applying = applying;
    return applying;
  }

  /* ---- saving */

  const saveButton = $('#save', form);
  const message = $('#message', form);
  let submitting = false;

  async function save() {
    if (!saveButton) return;
    await flushApply();
    form.requestSubmit(saveButton);
  }

  form.addEventListener('submit', (e) => {
    if (submitting) return;
    if (ed.applyTimer || ed.applying) {
      e.preventDefault(); // write the form into the YAML first
      save();
      return;
    }
    if (ed.formError && !formPanel.hidden) {
      // Saving now would save the text without the form's edit: say so instead.
      e.preventDefault();
      setStatus('error', 'not saved: fix the form (or switch to the YAML tab) first');
      $('#form-error', formPanel)?.focus();
      return;
    }
    submitting = true;
    saveButton?.setAttribute('aria-busy', 'true');
  });

  document.addEventListener('keydown', (e) => {
    if (isMod(e) && e.key.toLowerCase() === 's') {
      e.preventDefault();
      save();
    }
  });
  message?.addEventListener('keydown', (e) => {
    if (isMod(e) && e.key === 'Enter') {
      e.preventDefault();
      save();
    }
  });
  window.addEventListener('beforeunload', (e) => {
    if (!submitting && ed.editable && textarea.value !== ed.initial) {
      e.preventDefault();
      e.returnValue = '';
    }
  });

  renderGutter();
  runPreview();
}
