// The deployment service: a federated run as real parties over one protobuf service (Connect over
// HTTP/2 with TLS, so gRPC, gRPC-Web and the Connect protocol alike) — the coordinating server
// (`dgp serve`), clients that own their data (`dgp client`), and ADGP's broadcaster as a party of
// its own (`dgp broadcaster`) — with token credentials, limits against hostile peers, and clients
// that keep their own state for resumable runs. The .proto files are in proto/dgp/v1.
export { AccessList, accessEntry, bearer, hashToken, loadCredential, newToken, type AccessFile, type Credential, type Principal } from './auth.js';
export { makeCertificates, readPem, writeCertificates, type CertificateSet } from './tls.js';
export { DEFAULT_LIMITS, startServiceServer, type Limits, type ServiceServer, type ServiceServerOptions } from './http.js';
export { ClientHub, RemoteClient } from './hub.js';
export { authInterceptor, DEFAULT_CHUNK_BYTES, PROTOCOL_VERSION } from './protocol.js';
export { broadcasterService, remoteBroadcaster, startBroadcaster, type BroadcasterStats } from './broadcaster.js';
export { broadcasterProposer } from './proposer.js';
export { serveRun, type ServeResult, type ServeRunOptions } from './coordinator.js';
export { ClientStop, runClient, type ClientOutcome, type ClientRunOptions, type ClientStateStore, type TaskEvent } from './client-runner.js';
export { loadClientSource, parseDataSource, type DataSource } from './data-source.js';
export { LocalStateStore } from './local-state.js';
export { staticFiles, webRoot } from './static.js';
export { nodeTransport, type TransportOptions } from './transport.js';
export { FederationService, TaskKind } from './gen/dgp/v1/federation_pb.js';
export { BroadcasterService } from './gen/dgp/v1/broadcaster_pb.js';
