// kspan viewer: the little interaction the server-rendered pages need.
// Plain JavaScript, no build step, no dependencies.
(function () {
  'use strict';

  // The trace list refreshes itself while kspan watches a cluster: it asks
  // for the store's version and reloads when it changed, unless the user is
  // typing a filter.
  var body = document.body;
  if (body.dataset.live === '1') {
    setInterval(function () {
      var a = document.activeElement;
      if (a && (a.tagName === 'INPUT' || a.tagName === 'SELECT')) return;
      fetch('/api/version', { cache: 'no-store' })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (v) {
          if (v !== null && v.trim() !== body.dataset.version) location.reload();
        })
        .catch(function () {}); // kspan stopped: keep what is shown
    }, 2000);
  }

  var wf = document.querySelector('.waterfall');
  if (!wf) return;

  function fold(node, folded) {
    node.classList.toggle('collapsed', folded);
    var t = node.querySelector(':scope > .row .toggle');
    if (t) {
      t.textContent = folded ? '▸' : '▾';
      t.setAttribute('aria-expanded', String(!folded));
    }
  }

  function show(node, open) {
    var d = node.querySelector(':scope > .detail');
    d.hidden = !open;
    node.classList.toggle('open', open);
    node.querySelector(':scope > .row').setAttribute('aria-expanded', String(open));
  }

  wf.addEventListener('click', function (e) {
    var node = e.target.closest('.node');
    if (!node || e.target.closest('.detail')) return; // links and text in the panel
    if (e.target.closest('.toggle')) {
      fold(node, !node.classList.contains('collapsed'));
      return;
    }
    if (e.target.closest('.row')) show(node, node.querySelector(':scope > .detail').hidden);
  });
  wf.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    var row = e.target.closest('.row');
    if (!row || e.target.closest('.toggle') || !row.parentElement.classList.contains('node')) return;
    e.preventDefault();
    var node = row.parentElement;
    show(node, node.querySelector(':scope > .detail').hidden);
  });

  document.querySelectorAll('[data-act]').forEach(function (b) {
    b.addEventListener('click', function () {
      var folded = b.dataset.act === 'collapse';
      wf.querySelectorAll('.node').forEach(function (n) {
        if (n.querySelector(':scope > .children')) fold(n, folded);
      });
      // Keep the roots open so a collapsed trace still shows its top level.
      if (folded) wf.querySelectorAll(':scope > .node').forEach(function (n) { fold(n, false); });
    });
  });

  // A link to #span-ID opens that span, unfolding its ancestors.
  function openHash() {
    var m = /^#span-([0-9a-f]{16})$/.exec(location.hash);
    var node = m && document.getElementById('span-' + m[1]);
    if (!node) return;
    for (var p = node.parentElement.closest('.node'); p; p = p.parentElement.closest('.node')) fold(p, false);
    show(node, true);
    node.scrollIntoView({ block: 'center' });
  }
  window.addEventListener('hashchange', openHash);
  openHash();
})();
