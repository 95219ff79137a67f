/**
 * A list's settings (owners only), one Postorius group per page
 * (settings-groups.ts), each setting with its description from the
 * settings schema. Saved with setListValues (src/app/lists.ts): each value
 * checked as `lists set` checks it, the group all or nothing, and refused
 * when the list changed since the form was shown (the settings' version
 * tag, as the REST API's ETag). A refused value is shown on the form, next
 * to its field, with what was typed kept.
 */
import { listVersionTag, setListValues, shownSettings } from '../../app/lists.js';
import { SwitchyardError } from '../../errors.js';
import { ListSettingError, type MailingList } from '../../store/index.js';
import { settingDescription, settingKind, settingOptions, type SettingKey } from '../../store/list-settings.js';
import { ApiStaleError } from '../errors.js';
import { html, type SafeHtml } from '../html/html.js';
import type { ApiDeps } from '../routes/deps.js';
import { adminPage, csrfField } from './admin-layout.js';
import { field, listUrl, type AdminInput, type AdminRouteSpec } from './admin-route.js';
import { failureText, setFlash } from './session.js';
import { settingsGroups, type SettingsGroup } from './settings-groups.js';

type Key = SettingsGroup['keys'][number];

/** Long free text: a textarea. */
const LONG_TEXT = new Set<Key>(['description', 'headerText', 'footerText', 'welcomeMessageText']);

function description(key: Key): string {
  if (key === 'displayName') return "the list's name as people read it (List-Id, notices)";
  if (key === 'description') return 'a sentence or two on what the list is for (welcome message, list pages)';
  return settingDescription(key);
}

/** The value as the form shows it (lists one per line; the password never). */
function formValue(list: MailingList, key: Key): string {
  if (key === 'displayName' || key === 'description') return list[key];
  const value = shownSettings(list)[key];
  if (Array.isArray(value)) return value.join('\n');
  if (key === 'moderatorPassword') return '';
  return value === null ? '' : String(value);
}

function control(key: Key, value: string): SafeHtml {
  const id = `setting-${key}`;
  if (key === 'displayName' || key === 'description') return LONG_TEXT.has(key) ? html`<textarea id="${id}" name="${key}" rows="3">${value}</textarea>` : html`<input type="text" id="${id}" name="${key}" value="${value}">`;
  switch (settingKind(key)) {
    case 'boolean':
      return html`<select id="${id}" name="${key}"><option value="true"${value === 'true' ? html` selected` : ''}>yes</option><option value="false"${value === 'false' ? html` selected` : ''}>no</option></select>`;
    case 'enum':
      return html`<select id="${id}" name="${key}">${(settingOptions(key) ?? []).map((o) => html`<option value="${o}"${o === value ? html` selected` : ''}>${o}</option>`)}</select>`;
    case 'number':
      return html`<input type="text" inputmode="decimal" id="${id}" name="${key}" value="${value}">`;
    case 'list':
      return html`<textarea id="${id}" name="${key}" rows="3" aria-describedby="${id}-hint">${value}</textarea>`;
    case 'password':
      return html`<input type="password" id="${id}" name="${key}" value="" autocomplete="new-password" placeholder="leave empty to keep it; none to remove it">`;
    default:
      return LONG_TEXT.has(key) ? html`<textarea id="${id}" name="${key}" rows="4">${value}</textarea>` : html`<input type="text" id="${id}" name="${key}" value="${value}">`;
  }
}

function renderGroup(input: AdminInput, group: SettingsGroup, values: (key: Key) => string, errors: Map<string, string>, tag: string): string {
  const list = input.list!;
  const groups = settingsGroups();
  const content = html`<div class="settings">
<nav class="side" aria-label="setting groups"><ul>${groups.map((g) => html`<li><a href="${listUrl(list.address, `settings/${g.id}`)}"${g.id === group.id ? html` aria-current="page"` : ''}>${g.title}</a></li>`)}</ul></nav>
<form method="post" action="${listUrl(list.address, `settings/${group.id}`)}" class="card grow" novalidate>
${csrfField(input.csrf)}
<input type="hidden" name="_tag" value="${tag}">
<h2>${group.title}</h2>
${errors.size === 0 ? '' : html`<p class="flash error" role="alert">Nothing was saved: ${errors.size === 1 ? 'one value is' : `${errors.size} values are`} not accepted.</p>`}
${group.keys.map((key) => {
  const error = errors.get(key);
  const kind = key === 'displayName' || key === 'description' ? 'string' : settingKind(key);
  return html`<div class="field${error === undefined ? '' : ' invalid'}">
<label for="setting-${key}">${key}<span class="hint" id="setting-${key}-hint">${description(key)}${kind === 'list' ? ' (one per line)' : ''}</span></label>
${control(key, values(key))}
${error === undefined ? '' : html`<p class="field-error" role="alert">${error}</p>`}
</div>`;
})}
<p><button type="submit">Save ${group.title.toLowerCase()}</button></p>
</form>
</div>`;
  return adminPage(input, { title: 'Settings', content, tab: 'settings' });
}

export function settingsPages(deps: ApiDeps): AdminRouteSpec[] {
  const app = deps.app;
  const groupOf = (id: string | undefined): SettingsGroup => settingsGroups().find((g) => g.id === id) ?? (settingsGroups()[0] as SettingsGroup);
  const show = async (input: AdminInput) => {
    const list = input.list!;
    return renderGroup(input, groupOf(input.params.group), (key) => formValue(list, key), new Map(), listVersionTag(list));
  };
  return [
    { method: 'GET', url: '/admin/lists/:list/settings', access: 'owner', handler: show },
    { method: 'GET', url: '/admin/lists/:list/settings/:group', access: 'owner', handler: show },
    {
      method: 'POST',
      url: '/admin/lists/:list/settings/:group',
      access: 'owner',
      handler: async (input) => {
        const list = input.list!;
        const group = groupOf(input.params.group);
        const values: Record<string, unknown> = {};
        for (const key of group.keys) {
          const text = field(input.body, key);
          const kind = key === 'displayName' || key === 'description' ? 'string' : settingKind(key);
          if (kind === 'password') {
            if (text !== '') values[key] = text;
          } else if (kind === 'list') {
            values[key] = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
          } else {
            values[key] = text;
          }
        }
        const errors = new Map<string, string>();
        try {
          // One key at a time finds every bad value (setListValues stops at the first); nothing is written until all pass.
          for (const [key, value] of Object.entries(values)) {
            try {
              await setListValues({ ...app, store: dryRunStore(app.store, list) }, list.address, { [key]: value });
            } catch (error) {
              if (error instanceof ListSettingError || (error instanceof SwitchyardError && error.exitCode === 2) || (error instanceof SwitchyardError && error.code === 'SY_REGISTRY_UNKNOWN')) errors.set(key, error.message);
              else throw error;
            }
          }
          if (errors.size === 0) {
            await setListValues(app, list.address, values, { expectTag: field(input.body, '_tag'), onStale: (current) => new ApiStaleError(list.address, field(input.body, '_tag'), current) });
            setFlash(input.reply, deps, { kind: 'ok', text: `${group.title} saved.` });
            return input.reply.redirect(listUrl(list.address, `settings/${group.id}`), 303);
          }
        } catch (error) {
          if (!(error instanceof ApiStaleError)) throw error;
          setFlash(input.reply, deps, { kind: 'error', text: `Nothing was saved: ${failureText(error)}. The form now shows the current values.` });
          return input.reply.redirect(listUrl(list.address, `settings/${group.id}`), 303);
        }
        input.reply.code(422);
        return renderGroup(input, group, (key) => field(input.body, key), errors, field(input.body, '_tag'));
      },
    },
  ];
}

/** A store whose updateList only checks (the list as it is comes back): for finding every refused value before saving any. */
function dryRunStore<S extends { updateList: (...args: never[]) => Promise<MailingList> }>(store: S, list: MailingList): S {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'updateList') return async () => list;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
