// Public surface of src/rpc.
export type { XmlRpcValue, XmlRpcLimits } from './types.js';
export { FaultCode, DEFAULT_LIMITS } from './types.js';
export {
  parseMethodCall,
  parseMethodResponse,
  serializeResponse,
  serializeFault,
  serializeMethodCall,
  formatIsoDate,
  parseIsoDate,
  XmlRpcFault,
  E_XMLRPC_MALFORMED,
  E_XMLRPC_VALUE,
  E_XMLRPC_FAULT,
} from './codec.js';
export { RpcDispatcher, faultText, type RpcContext, type RpcMethod } from './dispatcher.js';
export * from './params.js';
