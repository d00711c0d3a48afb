using System.Net;
using System.Text.Json.Nodes;
using Vivim.Client.Transports;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Http;

/// <summary>Reads the answer to an update batch (owner or clone): receipts, or the rejections of an atomic refusal.</summary>
internal static class UpdateBatches
{
    public static async Task<SubmitResult> ReadResultAsync(HttpResponseMessage response, int maxBytes, bool revocationOn403, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        if (status == HttpStatusCode.OK)
        {
            var json = await GatewayHttp.ReadObjectAsync(response, maxBytes, cancellationToken).ConfigureAwait(false);
            return new SubmitResult(SubmitOutcome.Committed, GatewayHttp.List<UpdateReceipt>(json, "receipts", status), []);
        }

        if (status is HttpStatusCode.BadRequest or HttpStatusCode.Forbidden or HttpStatusCode.Conflict)
        {
            var body = await GatewayHttp.ReadBodyAsync(response, maxBytes, cancellationToken).ConfigureAwait(false);
            JsonObject? problem = null;
            try
            {
                problem = Protocol.Json.ProtocolJson.Parse(body) as JsonObject;
            }
            catch (Protocol.ProtocolException)
            {
            }

            if (problem?["rejections"] is JsonArray)
            {
                var outcome = status switch
                {
                    HttpStatusCode.Forbidden when GatewayHttp.Text(problem, "code") == RejectionCodes.QuotaExceeded => SubmitOutcome.QuotaExceeded,
                    HttpStatusCode.Forbidden => SubmitOutcome.Forbidden,
                    HttpStatusCode.Conflict => SubmitOutcome.Conflict,
                    _ => SubmitOutcome.Rejected,
                };
                return new SubmitResult(outcome, [], GatewayHttp.List<UpdateRejection>(problem, "rejections", status));
            }

            var code = problem is null ? null : GatewayHttp.Text(problem, "code");
            var detail = problem is null ? null : GatewayHttp.Text(problem, "detail") ?? GatewayHttp.Text(problem, "title");
            var error = new GatewayException(status, code ?? "http-" + (int)status, $"{(int)status} {code}{(detail is null ? string.Empty : ": " + detail)}");
            if (status == HttpStatusCode.Forbidden && revocationOn403)
            {
                throw new CloneRevokedException($"The parent refused this clone: {error.Message}", error);
            }

            throw error;
        }

        throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
    }
}
