/**
 * The library entry: run the gateway inside your own process, add stages, read decisions.
 *
 *   const loaded = await loadConfigFile('guardrail.yaml');
 *   if (!loaded.ok) throw new Error(loaded.errors.map(formatIssue).join('\n'));
 *   const gateway = await startGateway({ config: loaded.config, stages: [myStage] });
 *   …
 *   await gateway.stop();
 */
export { startGateway } from './proxy/start.ts';
export { Gateway, type GatewayOptions, type Listener } from './proxy/gateway.ts';
export { loadConfigFile, parseConfigText, formatIssue, type ConfigIssue, type LoadResult, type LoadOptions } from './config/load.ts';
export type { GatewayConfig, UpstreamConfig, ListenerConfig, HttpListenerConfig, Limits, ServerPolicy, ToolPolicy, DecisionLogConfig, LogConfig } from './config/config.ts';
export { configJsonSchema } from './config/json-schema.ts';
export { Pipeline, type PipelineOutcome, type PipelineInput, type Verdict, type OutcomeListener } from './pipeline/pipeline.ts';
export { PASS, type Stage, type StageContext, type StageResult, type StageScope, type Direction } from './pipeline/stage.ts';
export { decision, type Decision, type Effect, type Layer } from './pipeline/decision.ts';
export { SecurityContext, type SecurityEvent, type ThreatLevel, type ClientIdentity } from './pipeline/security-context.ts';
export { requestFilter, type RequestFilterOptions } from './access/request-filter.ts';
export type { DecisionRecord, DecisionRecorder } from './audit/decision-log.ts';
export type { FlowConfig, FlowRuleConfig, ClassificationRuleConfig } from './config/config.ts';
export { scanText, type Finding, type ScanOptions } from './flow/scan.ts';
export { DETECTORS, type DetectorInfo } from './flow/detectors.ts';
export { registerSemanticClassifier, type SemanticClassifier } from './flow/classify.ts';
export { flowStage, type FlowStageOptions } from './flow/flow-stage.ts';
export { LEVELS, type LevelName } from './flow/levels.ts';
export { ANNOTATION_KEY, AnnotationSigner, AnnotationVerifier, canonicalJson, type SecurityAnnotation } from './flow/annotation.ts';
export { frameOf, type Frame } from './protocol/frame.ts';
export { ErrorCode, errorResponse, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest, type JsonRpcNotification, type JsonRpcResponse, type MessageKind } from './protocol/jsonrpc.ts';
export { MODERN_VERSION, LEGACY_VERSIONS, type Era } from './protocol/revisions.ts';
export { createLogger, silentLogger, type Logger, type LogLevel } from './util/logger.ts';
export { VERSION } from './version.ts';
