"""Prints a minimal vim WSDL for oslo.vmware (run with /usr/bin/python3).

oslo.vmware, which glance_store's vmware store uses, fetches
https://<host>/sdk/vimService.wsdl before its first call; vCenter serves
one, vcsim does not, and Debian's python3-oslo.vmware ships only vSphere's
data types (wsdl/<version>/vim-types.xsd and the files it includes), not the
WSDL. This builds one from those types, referenced in place (file://, never
copied), and the table below: the request and response elements of the
calls glance_store 4.1 and oslo.vmware make, nothing more.

Usage: vim_wsdl.py SOAP_URL > vimService.wsdl
"""
import os
import sys

import oslo_vmware

THIS = ('_this', 'vim25:ManagedObjectReference', '')
MOR = 'vim25:ManagedObjectReference'

# name: (parameters, returnval or None); each (name, type, '' | '?' | '*' | '+').
OPERATIONS = {
    'RetrieveServiceContent': ([THIS], ('vim25:ServiceContent', '')),
    'Login': ([THIS, ('userName', 'xsd:string', ''), ('password', 'xsd:string', ''),
               ('locale', 'xsd:string', '?')], ('vim25:UserSession', '')),
    'Logout': ([THIS], None),
    'SessionIsActive': ([THIS, ('sessionID', 'xsd:string', ''), ('userName', 'xsd:string', '')],
                        ('xsd:boolean', '')),
    'CurrentTime': ([THIS], ('xsd:dateTime', '')),
    'FindByInventoryPath': ([THIS, ('inventoryPath', 'xsd:string', '')], (MOR, '?')),
    'RetrieveProperties': ([THIS, ('specSet', 'vim25:PropertyFilterSpec', '+')],
                           ('vim25:ObjectContent', '*')),
    'RetrievePropertiesEx': ([THIS, ('specSet', 'vim25:PropertyFilterSpec', '+'),
                              ('options', 'vim25:RetrieveOptions', '')], ('vim25:RetrieveResult', '?')),
    'ContinueRetrievePropertiesEx': ([THIS, ('token', 'xsd:string', '')], ('vim25:RetrieveResult', '')),
    'CancelRetrievePropertiesEx': ([THIS, ('token', 'xsd:string', '')], None),
    'DeleteDatastoreFile_Task': ([THIS, ('name', 'xsd:string', ''), ('datacenter', MOR, '?')], (MOR, '')),
}

OCCURS = {'': '', '?': ' minOccurs="0"', '*': ' minOccurs="0" maxOccurs="unbounded"',
          '+': ' maxOccurs="unbounded"'}


def sequence(params):
    inner = ''.join('<xsd:element name="%s" type="%s"%s/>' % (n, t, OCCURS[o]) for n, t, o in params)
    return '<xsd:complexType><xsd:sequence>%s</xsd:sequence></xsd:complexType>' % inner


def wsdl(types_file, soap_url):
    elements, messages, port_ops, binding_ops = [], [], [], []
    for name, (params, returns) in OPERATIONS.items():
        out = [('returnval',) + returns] if returns else []
        elements.append('<xsd:element name="%s">%s</xsd:element><xsd:element name="%sResponse">%s</xsd:element>'
                        % (name, sequence(params), name, sequence(out)))
        messages.append('<message name="%sRequestMsg"><part name="parameters" element="vim25:%s"/></message>'
                        '<message name="%sResponseMsg"><part name="parameters" element="vim25:%sResponse"/></message>'
                        % (name, name, name, name))
        port_ops.append('<operation name="%s"><input message="vim25:%sRequestMsg"/>'
                        '<output message="vim25:%sResponseMsg"/></operation>' % (name, name, name))
        binding_ops.append('<operation name="%s"><soap:operation soapAction="urn:vim25/6.5"/>'
                           '<input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>'
                           '</operation>' % name)
    return '\n'.join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<definitions targetNamespace="urn:vim25" xmlns="http://schemas.xmlsoap.org/wsdl/"'
        ' xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:vim25="urn:vim25"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema">',
        '<types><xsd:schema targetNamespace="urn:vim25" elementFormDefault="qualified">',
        '<xsd:include schemaLocation="file://%s"/>' % types_file,
        *elements,
        '</xsd:schema></types>',
        *messages,
        '<portType name="VimPortType">', *port_ops, '</portType>',
        '<binding name="VimBinding" type="vim25:VimPortType">',
        '<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>',
        *binding_ops, '</binding>',
        '<service name="VimService"><port name="VimPort" binding="vim25:VimBinding">'
        '<soap:address location="%s"/></port></service>' % soap_url,
        '</definitions>', '',
    ])


if __name__ == '__main__':
    types = os.path.join(os.path.dirname(oslo_vmware.__file__), 'wsdl', '6.5', 'vim-types.xsd')
    sys.stdout.write(wsdl(types, sys.argv[1]))
