/**
 * A minimal vim WSDL for Python's oslo.vmware, made at test time.
 *
 * oslo.vmware (which glance_store's vmware store uses) fetches
 * `https://<host>/sdk/vimService.wsdl` before its first call; vCenter serves
 * one, vcsim does not, and Debian's python3-oslo.vmware ships only vSphere's
 * data types (vim-types.xsd and the files it includes), not the WSDL. This
 * builds one from those types and the table below: the request and response
 * elements of the calls glance_store 4.1 and oslo.vmware make, nothing more.
 * The types are referenced in place (file://), never copied.
 */

/** One parameter of a call: name, vim25 type (or xsd:*), and whether it repeats or may be left out. */
interface Param {
  name: string;
  type: string;
  optional?: boolean;
  many?: boolean;
}

interface Operation {
  params: Param[];
  /** The type of `returnval`; none for calls that answer nothing. */
  returns?: Param;
}

const THIS: Param = { name: '_this', type: 'vim25:ManagedObjectReference' };

const OPERATIONS: Record<string, Operation> = {
  RetrieveServiceContent: { params: [THIS], returns: { name: 'returnval', type: 'vim25:ServiceContent' } },
  Login: {
    params: [THIS, { name: 'userName', type: 'xsd:string' }, { name: 'password', type: 'xsd:string' }, { name: 'locale', type: 'xsd:string', optional: true }],
    returns: { name: 'returnval', type: 'vim25:UserSession' },
  },
  Logout: { params: [THIS] },
  SessionIsActive: {
    params: [THIS, { name: 'sessionID', type: 'xsd:string' }, { name: 'userName', type: 'xsd:string' }],
    returns: { name: 'returnval', type: 'xsd:boolean' },
  },
  CurrentTime: { params: [THIS], returns: { name: 'returnval', type: 'xsd:dateTime' } },
  FindByInventoryPath: {
    params: [THIS, { name: 'inventoryPath', type: 'xsd:string' }],
    returns: { name: 'returnval', type: 'vim25:ManagedObjectReference', optional: true },
  },
  RetrieveProperties: {
    params: [THIS, { name: 'specSet', type: 'vim25:PropertyFilterSpec', many: true }],
    returns: { name: 'returnval', type: 'vim25:ObjectContent', optional: true, many: true },
  },
  RetrievePropertiesEx: {
    params: [THIS, { name: 'specSet', type: 'vim25:PropertyFilterSpec', many: true }, { name: 'options', type: 'vim25:RetrieveOptions' }],
    returns: { name: 'returnval', type: 'vim25:RetrieveResult', optional: true },
  },
  ContinueRetrievePropertiesEx: {
    params: [THIS, { name: 'token', type: 'xsd:string' }],
    returns: { name: 'returnval', type: 'vim25:RetrieveResult' },
  },
  CancelRetrievePropertiesEx: { params: [THIS, { name: 'token', type: 'xsd:string' }] },
  DeleteDatastoreFile_Task: {
    params: [THIS, { name: 'name', type: 'xsd:string' }, { name: 'datacenter', type: 'vim25:ManagedObjectReference', optional: true }],
    returns: { name: 'returnval', type: 'vim25:ManagedObjectReference' },
  },
};

function element(p: Param): string {
  const occurs = `${p.optional ? ' minOccurs="0"' : ''}${p.many ? ' maxOccurs="unbounded"' : ''}`;
  return `<xsd:element name="${p.name}" type="${p.type}"${occurs}/>`;
}

function sequence(params: readonly Param[]): string {
  return `<xsd:complexType><xsd:sequence>${params.map(element).join('')}</xsd:sequence></xsd:complexType>`;
}

/**
 * The WSDL text; `typesFile` is the absolute path of oslo.vmware's
 * vim-types.xsd (its includes are resolved next to it).
 */
export function vimWsdl(typesFile: string, soapUrl: string): string {
  const names = Object.keys(OPERATIONS);
  const elements = names
    .map((name) => {
      const op = OPERATIONS[name]!;
      return `<xsd:element name="${name}">${sequence(op.params)}</xsd:element><xsd:element name="${name}Response">${sequence(op.returns ? [op.returns] : [])}</xsd:element>`;
    })
    .join('\n');
  const messages = names.map((n) => `<message name="${n}RequestMsg"><part name="parameters" element="vim25:${n}"/></message><message name="${n}ResponseMsg"><part name="parameters" element="vim25:${n}Response"/></message>`).join('\n');
  const portOps = names.map((n) => `<operation name="${n}"><input message="vim25:${n}RequestMsg"/><output message="vim25:${n}ResponseMsg"/></operation>`).join('\n');
  const bindingOps = names
    .map((n) => `<operation name="${n}"><soap:operation soapAction="urn:vim25/6.5"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions targetNamespace="urn:vim25" xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:vim25="urn:vim25" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<types>
<xsd:schema targetNamespace="urn:vim25" elementFormDefault="qualified">
<xsd:include schemaLocation="file://${typesFile}"/>
${elements}
</xsd:schema>
</types>
${messages}
<portType name="VimPortType">
${portOps}
</portType>
<binding name="VimBinding" type="vim25:VimPortType">
<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
${bindingOps}
</binding>
<service name="VimService">
<port name="VimPort" binding="vim25:VimBinding"><soap:address location="${soapUrl}"/></port>
</service>
</definitions>
`;
}
