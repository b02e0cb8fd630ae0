/** Peer: raw node:http answering a constant JSON body on every path. The floor. */
import { createServer } from 'node:http';
import { announce, CONSTANT_BODY, exitWithParent, listenOn } from './common.js';

const body = Buffer.from(CONSTANT_BODY);
const headers = { 'Content-Type': 'application/json', 'Content-Length': String(body.length) };
const server = createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
exitWithParent();
announce(await listenOn(server));
