/**
 * Security annotations on the wire (seed 000 §10.5): frames the gateway sends are signed with
 * their flow label (classification, transformations), frames that arrive are verified when
 * they carry an annotation (or must carry one, with `verify: required`). A frame that fails is
 * refused; one that passes continues without the peer's annotation (the gateway signs its own).
 */
import { randomBytes } from 'node:crypto';
import type { FlowConfig } from '../config/config.ts';
import { frameOf, type Frame } from '../protocol/frame.ts';
import { ANNOTATION_KEY, AnnotationSigner, AnnotationVerifier, type SecurityAnnotation } from './annotation.ts';

export type Verified = { ok: true; frame: Frame; annotation: SecurityAnnotation | undefined } | { ok: false; code: string; reason: string };

export interface FrameAnnotator {
  readonly signs: boolean;
  sign(frame: Frame): Frame;
  /** Checks a frame from a client (`from: 'client'`) or an upstream server. */
  verify(frame: Frame, from: 'client' | 'server'): Verified;
}

export function createAnnotator(config: FlowConfig['annotations']): FrameAnnotator | undefined {
  if (!config || (!config.sign && config.verify.clients === 'off' && config.verify.servers === 'off')) return undefined;
  const key = Buffer.from(config.key, 'utf8');
  // A new name per run: sequence numbers restart at 1, and a peer remembers the old ones.
  const source = `${config.source ?? 'guardrail'}-${randomBytes(6).toString('hex')}`;
  const signer = config.sign ? new AnnotationSigner({ key, source }) : undefined;
  const verifier = new AnnotationVerifier({ keys: key });
  return {
    signs: signer !== undefined,
    sign(frame) {
      if (!signer || frame.kind === 'error') return frame;
      const label = frame.label ?? { classification: 'PUBLIC', transformations: [] };
      const signed = frameOf(signer.sign(frame.message, { classification: label.classification, transformations: label.transformations }));
      return frame.label ? { ...signed, label: frame.label } : signed;
    },
    verify(frame, from) {
      const mode = from === 'client' ? config.verify.clients : config.verify.servers;
      if (mode === 'off' || frame.kind === 'error') return { ok: true, frame, annotation: undefined };
      const required = mode === 'required';
      const body = (frame.message as { params?: { _meta?: Record<string, unknown> }; result?: { _meta?: Record<string, unknown> } });
      const present = (body.params?._meta ?? body.result?._meta)?.[ANNOTATION_KEY] !== undefined;
      if (!present && !required) return { ok: true, frame, annotation: undefined };
      const result = verifier.verify(frame.message);
      if (!result.ok) return { ok: false, code: result.code, reason: result.reason };
      return { ok: true, frame: frameOf(result.message), annotation: result.annotation };
    },
  };
}
