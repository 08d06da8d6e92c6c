// admission.k8s.io/v1 AdmissionReview, as much of it as the wire carries.
import type { GroupVersionKind, JsonObject, Operation, UserInfo } from '../policy/types.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo: UserInfo;
  object: JsonObject | null;
  oldObject: JsonObject | null;
  dryRun: boolean;
  options?: JsonObject | null;
}

export interface StatusDetails {
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: StatusDetails;
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReview {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}
