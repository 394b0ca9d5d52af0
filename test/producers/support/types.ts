/** The answer of POST /v1/orgs/:orgId/emails, as tests read it. */
export interface EmailSendResponse {
  emailId: string;
  followed: boolean;
  recipients: Array<{
    contactId: string;
    followed: boolean;
    openPixelUrl: string;
    links: Array<{ url: string; trackedUrl: string }>;
    attachments: Array<{ name: string; url: string; trackedUrl: string }>;
  }>;
}
