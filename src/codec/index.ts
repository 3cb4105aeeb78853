// The wire format: one versioned binary message per client update (or aggregate, or position set).
export {
  encodeUpdate, encodePositions, encodedSize, readdress, encodedPositionsSize, type EncodeOptions, type PositionTensor,
} from './encode.js';
export { decodeUpdate, decodePositions, type DecodeOptions, type DecodedMessage } from './decode.js';
export {
  WireFormatError, VERSION, DEFAULT_MAX_ENTRIES, choosePositionCoding, type MessageHeader, type MessageKind,
  type PositionCoding, type WireDtype,
} from './format.js';
export { toHalfBits, fromHalfBits } from './half.js';
export { idealBytes, log2Binomial } from './ideal.js';
