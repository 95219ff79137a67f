/**
 * The worker-pool task that classifies one bounce (classify.ts): MIME parsing
 * on untrusted input runs here, in a piscina thread with the pool's time
 * limit, so a MIME bomb fails its own entry and nothing else. Pure
 * computation, no files: nothing to lose if the thread is terminated.
 */
import { classifyMessage, type Classification } from './classify.js';

export interface ClassifyTask {
  message: Uint8Array;
  envelopeRecipient?: string;
}

export default async function classifyTask(task: ClassifyTask): Promise<Classification> {
  return classifyMessage(task.message, task.envelopeRecipient === undefined ? {} : { envelopeRecipient: task.envelopeRecipient });
}
