/**
 * The few vSphere API (vim25) calls the store makes, as SOAP envelopes built
 * here and answers read with fast-xml-parser. The vSphere API is only served
 * as SOAP, and the one Node client on npm (node-vsphere-soap) needs a WSDL
 * that servers may not serve and rests on unmaintained packages: typed
 * request builders for about eight calls are smaller and clearer.
 */
import { XMLParser } from 'fast-xml-parser';

/** A managed object reference: its type and its id (`Datacenter`, `datacenter-2`). */
export interface MoRef {
  type: string;
  value: string;
}

/** What a SOAP fault said: its vim25 fault type (`NotAuthenticated`, `FileNotFound`) and text. */
export interface SoapFault {
  type: string;
  message: string;
}

/** A request argument: text, a reference, a nested element (its children in order) or a list of any. */
export type SoapValue = string | number | boolean | MoRef | { [element: string]: SoapValue } | SoapValue[];

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

export function isMoRef(v: unknown): v is MoRef {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 2 && typeof (v as MoRef).type === 'string' && typeof (v as MoRef).value === 'string';
}

function element(name: string, value: SoapValue): string {
  if (Array.isArray(value)) return value.map((v) => element(name, v)).join('');
  if (isMoRef(value)) return `<${name} type="${xmlEscape(value.type)}">${xmlEscape(value.value)}</${name}>`;
  if (typeof value === 'object') {
    // A typed element (`{ '@type': 'PropertySpec', ... }`) carries xsi:type.
    const { ['@type']: xsiType, ...children } = value as Record<string, SoapValue>;
    const attr = typeof xsiType === 'string' ? ` xsi:type="${xmlEscape(xsiType)}"` : '';
    return `<${name}${attr}>${Object.entries(children).map(([k, v]) => element(k, v)).join('')}</${name}>`;
  }
  return `<${name}>${xmlEscape(String(value))}</${name}>`;
}

/** The envelope of one call: `<method><_this>…</_this>args…</method>`, arguments in the schema's order. */
export function envelope(method: string, self: MoRef, args: Record<string, SoapValue | undefined> = {}): string {
  const body = Object.entries(args)
    .filter((e): e is [string, SoapValue] => e[1] !== undefined)
    .map(([k, v]) => element(k, v))
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    `<soapenv:Body><${method} xmlns="urn:vim25">${element('_this', self)}${body}</${method}></soapenv:Body></soapenv:Envelope>`
  );
}

/** Elements that may repeat in the answers read here: always parsed as lists. */
const LISTS = new Set(['returnval', 'propSet', 'ManagedObjectReference', 'objects']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => LISTS.has(name),
});

/** A parsed node: text, or an element with children, `@type` and `#text`. */
export type Node = string | { [key: string]: Node | Node[] | undefined };

/** What an answer returned (its `returnval` elements, none for a void call), or the fault. */
export function parseAnswer(xml: string, method: string): { results: Node[]; fault?: SoapFault } {
  const doc = parser.parse(xml) as Record<string, Node>;
  const body = ((doc['Envelope'] as Record<string, Node> | undefined)?.['Body'] ?? undefined) as Record<string, Node> | undefined;
  if (!body || typeof body !== 'object') throw new Error('not a SOAP envelope');
  const fault = body['Fault'] as Record<string, Node> | undefined;
  if (fault) return { results: [], fault: faultOf(fault) };
  const response = body[`${method}Response`];
  if (response === undefined) throw new Error(`no ${method}Response in the answer`);
  const returnval = typeof response === 'object' ? (response as Record<string, Node[] | undefined>)['returnval'] : undefined;
  return { results: returnval ?? [] };
}

/** The vim25 fault type of a SOAP fault: the xsi:type of its detail, else the detail element's name without `Fault`. */
function faultOf(fault: Record<string, Node>): SoapFault {
  const message = text(fault['faultstring']) ?? 'SOAP fault';
  const detail = fault['detail'];
  if (detail && typeof detail === 'object') {
    for (const [name, value] of Object.entries(detail)) {
      if (name.startsWith('@')) continue;
      const typed = Array.isArray(value) ? value[0] : value;
      const xsiType = typed && typeof typed === 'object' ? text((typed as Record<string, Node>)['@type']) : undefined;
      return { type: stripPrefix(xsiType ?? name.replace(/Fault$/, '')), message };
    }
  }
  return { type: 'Unknown', message };
}

export function stripPrefix(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** The text of a node (`#text` of an element with attributes). */
export function text(node: Node | Node[] | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (Array.isArray(node)) return text(node[0]);
  if (typeof node === 'string') return node;
  const t = node['#text'];
  return typeof t === 'string' ? t : undefined;
}

/** A managed object reference in an answer. */
export function moRef(node: Node | Node[] | undefined): MoRef | undefined {
  const n = Array.isArray(node) ? node[0] : node;
  if (!n || typeof n !== 'object') return undefined;
  const type = text(n['@type']);
  const value = text(n);
  return type && value ? { type, value } : undefined;
}

/** A child element of a parsed node. */
export function child(node: Node | Node[] | undefined, name: string): Node | Node[] | undefined {
  const n = Array.isArray(node) ? node[0] : node;
  return n && typeof n === 'object' ? n[name] : undefined;
}

/** A node's repeated child as a list (one or none included). */
export function children(node: Node | Node[] | undefined, name: string): Node[] {
  const c = child(node, name);
  return c === undefined ? [] : Array.isArray(c) ? c : [c];
}
