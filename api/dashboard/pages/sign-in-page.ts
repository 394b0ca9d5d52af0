import { html, type Html } from '../html.js';
import { dashboardPaths } from '../paths.js';

/** The sign-in form: the key goes in a POST body, never in a URL. */
export function signInPage(problem: string | null): Html {
  return html`
${problem ? html`<p class="error" role="alert" data-testid="sign-in-error">${problem}</p>` : html``}
<form class="sign-in" method="post" action="/dashboard/sign-in">
  <label>API key <input type="password" name="key" autocomplete="current-password" required autofocus></label>
  <button type="submit">Sign in</button>
</form>
<p class="note">An organisation key shows that organisation; the admin key shows every organisation and the operations page.</p>`;
}

export function orgListPage(orgIds: readonly string[], admin: boolean): Html {
  return html`<ul class="orgs" data-testid="orgs">${orgIds.map((o) => html`<li><a href="${dashboardPaths.org(o)}">${o}</a></li>`)}</ul>
${admin ? html`<p><a href="${dashboardPaths.operations}">Operations</a></p>` : html``}`;
}
