/** The AWS tests' node volume (a raw disk padded to whole GiB, as an EBS volume is sized) and their environment file's aws account. */
import { copyFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { testCertificate } from '../../helpers/tls.ts';
import type { AwsCluster, AwsServer } from './aws.ts';

const GiB = 1024 * 1024 * 1024;
export const AWS_NODE = 'ip-10-0-1-23.eu-west-1.compute.internal';
export const AWS_ACCOUNT_NUMBER = '111122223333';
/** Static keys for the SDK's default chain (the local server checks only that requests are SigV4-signed). */
export const AWS_TEST_KEYS = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', AWS_EC2_METADATA_DISABLED: 'true' } as const;

/** Copies the raw disk into `dir` and pads it (sparse) to whole GiB. */
export function awsVolume(raw: string, dir: string): string {
  const out = join(dir, 'root-volume.img');
  copyFileSync(raw, out);
  truncateSync(out, Math.ceil(statSync(raw).size / GiB) * GiB);
  return out;
}

export function awsFleet(image: string, o: { cluster?: string; volumeId?: string; instanceId?: string; node?: string; zone?: string } = {}): AwsCluster[] {
  return [{ name: o.cluster ?? 'eks-prod', version: '1.30', nodegroups: [{ name: 'ng-ubuntu', amiType: 'CUSTOM', releaseVersion: '1.30.4-20260820', instanceType: 'm6i.large', nodes: [{ instanceId: o.instanceId ?? 'i-0a1b2c3d4e5f60718', zone: o.zone ?? 'eu-west-1a', privateDnsName: o.node ?? AWS_NODE, volumeId: o.volumeId ?? 'vol-0123456789abcdef0', image }] }] }];
}

/** An environment file's aws account pointed at the local server. */
export function awsAccount(aws: AwsServer, id = 'aws-prod', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, provider: 'aws', settings: { agentlessScanning: true }, aws: { region: aws.region, endpoints: { eks: aws.endpoint, ec2: aws.endpoint, ebs: aws.endpoint }, caFile: testCertificate().certFile, pollIntervalMs: 5, ...extra } };
}
