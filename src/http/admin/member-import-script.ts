/**
 * The one script of the web admin, served at /static/member-import.js for
 * the member import page (member-import-page.ts): it shows the file input,
 * sends the chosen file (or the pasted text) as text/csv with the CSRF
 * token in a header, and shows the NDJSON lines as they come: the progress
 * in a <progress>, each row not imported in a table, the counts at the end.
 * Text goes into the page by textContent only. Without it (no JavaScript)
 * the form posts as usual and the server answers with a summary page. A
 * constant rather than a file beside dist/, as the stylesheet is.
 */
export const MEMBER_IMPORT_SCRIPT = `'use strict';
(function () {
  var form = document.getElementById('member-import');
  if (!form || !window.fetch || !window.TextDecoder || !window.ReadableStream) return;
  var fileField = document.getElementById('import-file-field');
  var file = document.getElementById('import-file');
  var text = document.getElementById('import-csv');
  var role = document.getElementById('import-role');
  var dryRun = document.getElementById('import-dry-run');
  var submit = document.getElementById('import-submit');
  var section = document.getElementById('import-progress');
  var bar = document.getElementById('import-bar');
  var status = document.getElementById('import-status');
  var errors = document.getElementById('import-errors');
  var MAX_ROWS = 1000;
  var shown = 0;
  fileField.hidden = false;

  function say(message) { status.textContent = message; }
  function counts(event, dry) {
    return event.processed + ' of ' + event.total + ' rows: ' + event.added + (dry ? ' would be added, ' : ' added, ') + event.skipped + ' already members, ' + event.errors + ' not imported';
  }
  function errorRow(event) {
    if (shown >= MAX_ROWS) return;
    shown++;
    errors.hidden = false;
    var row = document.createElement('tr');
    [String(event.line), event.address || '', event.code, event.reason].forEach(function (value) {
      var cell = document.createElement('td');
      cell.textContent = value;
      row.appendChild(cell);
    });
    errors.tBodies[0].appendChild(row);
  }
  function handle(event, dry) {
    if (event.type === 'progress') {
      bar.max = Math.max(event.total, 1);
      bar.value = event.processed;
      say(counts(event, dry));
    } else if (event.type === 'error') {
      errorRow(event);
    } else if (event.type === 'done') {
      bar.max = Math.max(event.total, 1);
      bar.value = event.total;
      say((dry ? 'Dry run done, nothing changed. ' : 'Import done. ') + counts(event, dry) + '.');
    } else if (event.type === 'failed') {
      say('The import stopped: ' + event.message + ' (' + event.code + '). Rows imported so far stay; importing again adds the rest.');
    }
  }
  async function refused(response) {
    var body = await response.text();
    var reason = '';
    try {
      var page = new DOMParser().parseFromString(body, 'text/html').querySelector('main');
      reason = page ? page.textContent.replace(/\\s+/g, ' ').trim() : '';
    } catch (ignored) { reason = ''; }
    say('The import was refused (HTTP ' + response.status + '): ' + (reason || response.statusText));
  }

  form.addEventListener('submit', async function (submitted) {
    submitted.preventDefault();
    var chosen = file.files && file.files[0];
    if (!chosen && text.value.trim() === '') {
      section.hidden = false;
      say('Choose a file or paste the members first.');
      return;
    }
    var dry = dryRun.checked;
    var query = new URLSearchParams({ role: role.value, dryRun: dry ? 'true' : 'false' });
    submit.disabled = true;
    section.hidden = false;
    errors.hidden = true;
    errors.tBodies[0].textContent = '';
    shown = 0;
    bar.removeAttribute('value');
    say('Sending ' + (chosen ? chosen.name : 'the members') + '...');
    try {
      var response = await fetch(form.action + '?' + query.toString(), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'text/csv', 'x-csrf-token': form.elements._csrf.value, accept: 'application/x-ndjson' },
        body: chosen || text.value,
      });
      if (!response.ok || (response.headers.get('content-type') || '').indexOf('application/x-ndjson') !== 0) return await refused(response);
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffered = '';
      for (;;) {
        var read = await reader.read();
        if (read.done) break;
        buffered += decoder.decode(read.value, { stream: true });
        var end;
        while ((end = buffered.indexOf('\\n')) >= 0) {
          var line = buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
          if (line !== '') handle(JSON.parse(line), dry);
        }
      }
    } catch (failure) {
      say('The import could not be sent or read: ' + failure.message + '. Rows imported so far stay; importing again adds the rest.');
    } finally {
      submit.disabled = false;
    }
  });
})();
`;
