/**
 * `lifeline doctor`: probes a running hub through whatever proxy sits in front of it and says what
 * breaks SSE there (buffering, compression, timeouts, caching; docs/doctor.md).
 */
export type { CheckResult, Verdict } from './checks.ts'
export {
  checkCaching,
  checkCompression,
  checkContentType,
  checkDelivery,
  checkFirstBytes,
  checkHeartbeat,
  checkIdleTimeout,
  checkResume,
  checkStatus,
} from './checks.ts'
export type { DoctorOptions, DoctorReport } from './doctor.ts'
export {
  DEFAULT_TOPIC,
  DEFAULT_WATCH_MS,
  doctorStreamUrl,
  formatCheck,
  formatReport,
  runDoctor,
} from './doctor.ts'
export type { ProbeEnd, ProbeOptions, TimedEvent } from './probe.ts'
export { BROWSER_HEADERS, openProbe, Probe } from './probe.ts'
