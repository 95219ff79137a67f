import { parseBounceMessage } from './dist/runners/bounce/bounce-message.js';
import { readFileSync } from 'node:fs';
const m = await parseBounceMessage(readFileSync(process.argv[2]));
console.log(JSON.stringify({rh: m.returnedHeaders, text: m.text.slice(0,500), ds: m.deliveryStatus, fr: m.feedbackReport}, null, 1));
