/** The public pages' own errors, each answered with its status as a page (src/http/html/error-page.ts). */
import { ApiRequestError } from '../errors.js';

/** A link from a list mail that does nothing: damaged, another list's, used already, or past the secret's grace. */
export class WebLinkInvalidError extends ApiRequestError {
  readonly status = 404;
  constructor(message: string) {
    super('SY_WEB_LINK_INVALID', `${message}; nothing was changed`);
  }
}

/** A public form posted without a valid form token (form-token.ts): a forged cross-site POST, or cookies off. */
export class WebFormTokenError extends ApiRequestError {
  readonly status = 403;
  constructor() {
    super('SY_WEB_FORM_TOKEN', 'this form was not sent from a page of this site in this browser (or cookies are off); nothing was done: reload the page and send it again');
  }
}
