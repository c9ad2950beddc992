/**
 * glance_store 5.4's data integrity options as the AWS SDK v3's checksum
 * settings. Off (the default), both are WHEN_REQUIRED: the SDK sends and
 * checks a checksum only where an operation requires one, which RGW and
 * Swift's s3api both accept. On, each option's value is the SDK's setting.
 */
import type { S3StoreOptions } from './options.js';

type Setting = 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';

export interface ChecksumSettings {
  requestChecksumCalculation: Setting;
  responseChecksumValidation: Setting;
}

type ChecksumOptions = Pick<S3StoreOptions, 's3_store_enable_data_integrity_protection' | 's3_store_request_checksum_calculation' | 's3_store_response_checksum_validation'>;

export function checksumSettings(o: ChecksumOptions): ChecksumSettings {
  if (!o.s3_store_enable_data_integrity_protection) return { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' };
  const setting = (v: 'when_required' | 'when_supported'): Setting => (v === 'when_supported' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED');
  return { requestChecksumCalculation: setting(o.s3_store_request_checksum_calculation), responseChecksumValidation: setting(o.s3_store_response_checksum_validation) };
}
