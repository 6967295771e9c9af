export { nodeRequestParts } from './node-request.js'
export { readNodeBody } from './read-node-body.js'
