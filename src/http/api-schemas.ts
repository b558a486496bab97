// The zod schemas of what /api/v1 answers (requests' schemas live next to their routes). They
// are the OpenAPI document's response schemas (openapi.ts) and what the tests check real
// responses against, so the document describes what is actually sent.
import { z } from 'zod';
import { ATTRIBUTE_SCOPES, BOOT_ACTIONS, HOST_STATES } from '../store/index.js';

export const apiError = z.object({ code: z.string(), message: z.string() }).meta({ id: 'Error' });

export const netInterface = z.object({ mac: z.string(), ip: z.string().nullable(), subnet: z.string().nullable(), device: z.string() });

export const host = z
  .object({
    name: z.string(),
    appliance: z.string(),
    rack: z.number().int(),
    rank: z.number().int(),
    os: z.string(),
    arch: z.string(),
    bootAction: z.enum(BOOT_ACTIONS),
    state: z.enum(HOST_STATES),
    stateDetail: z.string().nullable(),
    createdAt: z.string(),
    interfaces: z.array(netInterface),
    reusedVolume: z.string().optional(),
  })
  .meta({ id: 'Host' });

export const removedHost = z.object({ name: z.string(), volume: z.object({ name: z.string(), kept: z.boolean() }).nullable() });

export const appliance = z
  .object({ name: z.string(), basename: z.string(), graph: z.string(), rootNode: z.string(), discoverable: z.boolean() })
  .meta({ id: 'Appliance' });

export const attribute = z.object({ scope: z.enum(ATTRIBUTE_SCOPES), target: z.string(), name: z.string(), value: z.string() }).meta({ id: 'Attribute' });

/** A host's resolved attribute; source is Rocks' letter (D C G O A H I). */
export const resolvedAttribute = z.object({ name: z.string(), value: z.string(), source: z.string() }).meta({ id: 'ResolvedAttribute' });

export const event = z
  .object({
    id: z.number().int(),
    at: z.string(),
    kind: z.string(),
    host: z.string().nullable(),
    mac: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Event' });

export const volumeReport = z
  .object({
    node: z.string(),
    volume: z.string(),
    host: z.string().nullable(),
    sizeBytes: z.number(),
    allocatedBytes: z.number(),
    target: z.string().nullable(),
    initiator: z.string().nullable(),
    portal: z.string().nullable(),
    port: z.number().nullable(),
    lun: z.number().nullable(),
    chapUser: z.string().nullable(),
    exported: z.boolean().nullable(),
  })
  .meta({ id: 'Volume' });

export const nodeError = z.object({ node: z.string(), error: z.string() });

/** Any JSON object (answers whose shape another module owns: storage reports, sessions). */
export const anyObject = z.record(z.string(), z.unknown());

/** { items, next }: one page of a list (pagination.ts). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next: z.string().nullable() });
}

/** ?limit=&cursor= of every list. */
export const pageQuery = { limit: z.string().optional(), cursor: z.string().optional() };
