/**
 * A listen error in an operator's words, for the services that listen (LMTP,
 * HTTP). A module of its own so that the HTTP service need not load the LMTP
 * server (and smtp-server) to say why its port is taken.
 */
export function listenFailure(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return 'address in use';
    case 'EACCES':
      return 'permission denied (a port below 1024 needs privileges)';
    case 'EADDRNOTAVAIL':
      return 'address not available on this host';
    default:
      return error.code ?? error.message;
  }
}
