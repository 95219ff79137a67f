/**
 * The site secret as `<home>/site-secret.json` holds it now: read again
 * whenever the file was replaced (`switchyard secret rotate` renames a new
 * one into place), so the processes that sign and check one-click tokens
 * (the outgoing runner, the HTTP service's public pages) follow a rotation
 * without a restart. One stat() per use; reads nothing else.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SITE_SECRET_FILE, SiteSecrets } from './site-secret.js';

function stampOf(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
  } catch {
    return 'missing';
  }
}

export class SiteSecretsFile {
  private loaded: SiteSecrets | undefined;
  private stamp = '';
  private readonly file: string;

  constructor(private readonly home: string) {
    this.file = join(home, SITE_SECRET_FILE);
  }

  /** The secrets, made on first use (SiteSecrets.load), read again after a rotation. */
  current(now: Date): SiteSecrets {
    const stamp = stampOf(this.file);
    if (this.loaded === undefined || stamp !== this.stamp) {
      this.loaded = SiteSecrets.load(this.home, now);
      // The stamp of what was read (load may have just made the file).
      this.stamp = stampOf(this.file);
    }
    return this.loaded;
  }
}
