// Task management functions (RFC 7143 §11.5, SAM-5 §7.1): which tasks a TMF request aborts, in
// this session and in the target's others, what is reset, and the response. The response goes
// out only once no aborted task can touch the medium any more (§4.2.3.3: the abort must be
// complete before the TMF response). Sockets and PDUs stay with the session: it hands in
// `respond`.
import { TmfFunction, TmfResponse, lunToNumber, type TaskMgmtPdu } from './pdu.js';

/** What task management needs to know of a task: the LUN it addresses. */
export interface ManagedTask {
  lunNumber: number;
}

/** The session a TMF request arrived on: its task table. */
export interface TmfSession<T extends ManagedTask> {
  /** The active task with this Initiator Task Tag. */
  task(itt: number): T | undefined;
  /** Abort tasks matching `pred`; resolves once none of them can touch the medium any more. */
  abortTasks(pred: (t: T) => boolean): Promise<void>;
}

/** The target, as the portal shows it to a session: its LUs and its other sessions. */
export interface TmfTarget {
  lu(n: number): { reset(): void } | undefined;
  lunNumbers(): number[];
  /**
   * Abort tasks on a LUN (or the whole target) in every session but `except` (the asking one,
   * which aborts its own); resolves when they are quiet.
   */
  abortEverywhere(lun: number | undefined, except: TmfSession<ManagedTask>): Promise<void>;
  /** End every connection to the target (after the TMF response has left). */
  coldReset(): void;
}

/** Carry out one TMF request; `respond` gets the TMF response code (§11.6.1), once. */
export function taskManagement<T extends ManagedTask>(
  session: TmfSession<T>,
  target: TmfTarget,
  pdu: Pick<TaskMgmtPdu, 'fn' | 'lun' | 'referencedTaskTag'>,
  respond: (response: number) => void,
): void {
  const lunNumber = lunToNumber(pdu.lun);
  switch (pdu.fn) {
    case TmfFunction.AbortTask: {
      const t = session.task(pdu.referencedTaskTag);
      if (!t) return respond(TmfResponse.TaskDoesNotExist);
      void session.abortTasks((x) => x === t).then(() => respond(TmfResponse.Complete));
      return;
    }
    case TmfFunction.AbortTaskSet:
    case TmfFunction.ClearTaskSet:
      void session.abortTasks((x) => x.lunNumber === lunNumber).then(() => respond(TmfResponse.Complete));
      return;
    case TmfFunction.ClearAca:
      return respond(TmfResponse.Complete);
    case TmfFunction.LogicalUnitReset: {
      const lu = target.lu(lunNumber);
      if (!lu) return respond(TmfResponse.LunDoesNotExist);
      void Promise.all([session.abortTasks((x) => x.lunNumber === lunNumber), target.abortEverywhere(lunNumber, session)]).then(() => {
        lu.reset();
        respond(TmfResponse.Complete);
      });
      return;
    }
    case TmfFunction.TargetWarmReset:
    case TmfFunction.TargetColdReset: {
      const cold = pdu.fn === TmfFunction.TargetColdReset;
      void Promise.all([session.abortTasks(() => true), target.abortEverywhere(undefined, session)]).then(() => {
        for (const n of target.lunNumbers()) target.lu(n)?.reset();
        respond(TmfResponse.Complete);
        // A cold reset also ends every connection to the target, this one after the response.
        if (cold) target.coldReset();
      });
      return;
    }
    case TmfFunction.TaskReassign:
      return respond(TmfResponse.ReassignmentNotSupported);
    default:
      return respond(TmfResponse.NotSupported);
  }
}
