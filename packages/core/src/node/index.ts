export { readNodeBody } from './read-node-body.js'
